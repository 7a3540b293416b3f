// CUDA kernel for bvh_closest_face_idx (contract in bvh_closest_face.h): one thread per point; BVH ids, face ids
// and ranges clamped (no host checks of device data).
#include <ATen/Dispatch.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/full.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include "../../common/cuda_utils.cuh"
#include "../../common/index_math.h"
#include "bvh_closest_face.h"

namespace mg {
namespace bcf {
namespace {

template <typename T>
__global__ void closest_face_kernel(const T* __restrict__ pts, const int64_t* cf, const int64_t* cs, int64_t N,
                                    int64_t P, const T* __restrict__ verts, int64_t V,
                                    const int64_t* __restrict__ faces, int64_t F, const T* __restrict__ box,
                                    const int64_t* __restrict__ node, const int64_t* __restrict__ order,
                                    const int64_t* root, int64_t M, int64_t* out) {
  MG_CUDA_KERNEL_LOOP(i, P) {
    // the element owning point i (ranges unchecked on CUDA: an unsorted one leaves points unowned, at -1)
    const int64_t n = row_of_entry(cf, N, i);
    if (n < 0 || i >= cf[n] + cs[n]) continue;
    out[i] = closest_face(pts + 3 * i, verts, V, faces, F, box, node, order, root[n], M);
  }
}

at::Tensor bvh_closest_face_idx_cuda(const at::Tensor& points, const at::Tensor& cloud_first,
                                     const at::Tensor& cloud_size, const at::Tensor& verts, const at::Tensor& faces,
                                     const at::Tensor& box, const at::Tensor& node, const at::Tensor& order,
                                     const at::Tensor& root) {
  const int64_t M = bvh::check_point_query(points, cloud_first, cloud_size, verts, faces, box, node, order, root);
  const c10::cuda::CUDAGuard guard(points.device());
  const int64_t N = cloud_first.size(0), F = faces.size(0), V = verts.size(0), P = points.size(0);
  auto out = at::full({P}, -1, points.options().dtype(at::kLong));
  if (F == 0 || V == 0 || P == 0 || N == 0 || M == 0) return out;
  const auto acc = points.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  const auto pts = points.to(acc).contiguous(), v = verts.to(acc).contiguous(), fc = faces.contiguous();
  const auto bx = box.contiguous(), nd = node.contiguous(), od = order.contiguous(), rt = root.contiguous();
  const auto cf = cloud_first.contiguous(), cs = cloud_size.contiguous();
  AT_DISPATCH_FLOATING_TYPES(pts.scalar_type(), "bvh_closest_face_idx_cuda", [&] {
    closest_face_kernel<scalar_t><<<cuda::num_blocks(P), cuda::kThreads, 0, c10::cuda::getCurrentCUDAStream()>>>(
        pts.const_data_ptr<scalar_t>(), cf.const_data_ptr<int64_t>(), cs.const_data_ptr<int64_t>(), N, P,
        v.const_data_ptr<scalar_t>(), V, fc.const_data_ptr<int64_t>(), F, bx.const_data_ptr<scalar_t>(),
        nd.const_data_ptr<int64_t>(), od.const_data_ptr<int64_t>(), rt.const_data_ptr<int64_t>(), M,
        out.mutable_data_ptr<int64_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return out;
}

}  // namespace
}  // namespace bcf
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CUDA, m) {
  m.impl("bvh_closest_face_idx", &mg::bcf::bvh_closest_face_idx_cuda);
}
