// CUDA kernel for ray_mesh_intersect_idx (contract in ray_mesh_intersect.h): one thread per ray traverses the BVH
// built by mesh_bvh (no synchronisation).
#include <ATen/Dispatch.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/full.h>
#include <ATen/ops/zeros.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include <limits>
#include <tuple>

#include "../../common/cuda_utils.cuh"
#include "../../common/index_math.h"
#include "ray_mesh_intersect.h"

namespace mg {
namespace rmi {
namespace {

// The element owning ray r: the last n with ray_first[n] <= r, if r < ray_first[n] + ray_size[n]; else -1.
// Ranges are not checked on CUDA (a device sync): unsorted ones leave rays unowned, never out of bounds.
__device__ inline int64_t owner(const int64_t* rf, const int64_t* rs, int64_t N, int64_t r) {
  const int64_t n = row_of_entry(rf, N, r);
  return n >= 0 && r < rf[n] + rs[n] ? n : -1;
}

template <typename T>
__global__ void ray_kernel(const T* __restrict__ o, const T* __restrict__ d, const int64_t* rf, const int64_t* rs,
                           int64_t N, int64_t R, const T* __restrict__ tris, int64_t F, const T* __restrict__ box,
                           const int64_t* __restrict__ node, const int64_t* __restrict__ order, int64_t M,
                           const int64_t* root, T* t_out, int64_t* face, T* bary) {
  MG_CUDA_KERNEL_LOOP(r, R) {
    const int64_t n = owner(rf, rs, N, r);
    if (n < 0) continue;
    closest_hit(o + 3 * r, d + 3 * r, box, node, order, tris, root[n], M, F, t_out + r, face + r, bary + 3 * r);
  }
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> ray_mesh_intersect_idx_cuda(const at::Tensor& origins,
                                                               const at::Tensor& directions,
                                                               const at::Tensor& ray_first,
                                                               const at::Tensor& ray_size, const at::Tensor& tris,
                                                               const at::Tensor& box, const at::Tensor& node,
                                                               const at::Tensor& order, const at::Tensor& root) {
  const int64_t M = check_inputs(origins, directions, ray_first, ray_size, tris, box, node, order, root);
  const c10::cuda::CUDAGuard guard(origins.device());
  const int64_t R = origins.size(0), F = tris.size(0), N = ray_first.size(0);
  const auto acc_type = origins.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  auto t_out = at::full({R}, std::numeric_limits<double>::infinity(), origins.options().dtype(acc_type));
  auto face = at::full({R}, -1, origins.options().dtype(at::kLong));
  auto bary = at::zeros({R, 3}, origins.options().dtype(acc_type));
  if (R == 0 || N == 0 || F == 0 || M == 0)
    return {t_out.to(origins.scalar_type()), face, bary.to(origins.scalar_type())};
  const auto o = origins.to(acc_type).contiguous(), d = directions.to(acc_type).contiguous();
  const auto tri = tris.to(acc_type).contiguous();
  const auto bx = box.contiguous(), nd = node.contiguous(), od = order.contiguous(), rt = root.contiguous();
  const auto rf = ray_first.contiguous(), rs = ray_size.contiguous();
  AT_DISPATCH_FLOATING_TYPES(tri.scalar_type(), "ray_mesh_intersect_idx_cuda", [&] {
    ray_kernel<scalar_t><<<cuda::num_blocks(R), cuda::kThreads, 0, c10::cuda::getCurrentCUDAStream()>>>(
        o.const_data_ptr<scalar_t>(), d.const_data_ptr<scalar_t>(), rf.const_data_ptr<int64_t>(),
        rs.const_data_ptr<int64_t>(), N, R, tri.const_data_ptr<scalar_t>(), F, bx.const_data_ptr<scalar_t>(),
        nd.const_data_ptr<int64_t>(), od.const_data_ptr<int64_t>(), M, rt.const_data_ptr<int64_t>(),
        t_out.mutable_data_ptr<scalar_t>(), face.mutable_data_ptr<int64_t>(), bary.mutable_data_ptr<scalar_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return {t_out.to(origins.scalar_type()), face, bary.to(origins.scalar_type())};
}

}  // namespace
}  // namespace rmi
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CUDA, m) {
  m.impl("ray_mesh_intersect_idx", &mg::rmi::ray_mesh_intersect_idx_cuda);
}
