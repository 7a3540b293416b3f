// CUDA kernel for winding_number (contract in winding_number.h): the BVH and its boundary chains are built on the
// host from copies of the vertices and faces (one synchronisation per call), then one thread per point.
#include <ATen/Dispatch.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/zeros.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include "../../common/cuda_utils.cuh"
#include "../../common/index_math.h"
#include "winding_number.h"

namespace mg {
namespace wn {
namespace {

template <typename T>
__global__ void winding_kernel(const T* __restrict__ pts, const int64_t* cf, const int64_t* cs, int64_t N, int64_t P,
                               const T* __restrict__ verts, const int64_t* __restrict__ faces,
                               const T* __restrict__ box, const int64_t* __restrict__ node,
                               const int64_t* __restrict__ order, const int64_t* __restrict__ bstart,
                               const int64_t* __restrict__ bedge, const int64_t* root, int64_t M, T* out) {
  MG_CUDA_KERNEL_LOOP(i, P) {
    // the element owning point i (ranges unchecked on CUDA: an unsorted one leaves points unowned, at 0)
    const int64_t n = row_of_entry(cf, N, i);
    if (n < 0 || i >= cf[n] + cs[n]) continue;
    out[i] = winding(pts + 3 * i, verts, faces, box, node, order, bstart, bedge, root[n], M);
  }
}

at::Tensor winding_number_cuda(const at::Tensor& points, const at::Tensor& cloud_first, const at::Tensor& cloud_size,
                               const at::Tensor& verts, const at::Tensor& faces, const at::Tensor& mesh_first,
                               const at::Tensor& mesh_size) {
  const at::Tensor fc = check_inputs(points, cloud_first, cloud_size, verts, faces, mesh_first, mesh_size);
  const c10::cuda::CUDAGuard guard(points.device());
  const int64_t N = cloud_first.size(0), F = faces.size(0), P = points.size(0);
  const auto acc_type = points.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  auto out = at::zeros({P}, points.options().dtype(acc_type));
  if (F == 0 || P == 0 || N == 0) return out.to(points.scalar_type());
  const auto pts = points.to(acc_type).contiguous(), v = verts.to(acc_type).contiguous();
  const auto vh = v.cpu();
  const bvh::Bvh hb = bvh::build(vh.index_select(0, fc.view({-1})).view({F, 3, 3}), mesh_first.cpu(),
                                 mesh_size.cpu());
  const bvh::Chains hc = bvh::boundary_chains(hb, fc);
  const int64_t M = hb.node.size(0);
  const auto dev = points.device();
  const auto box = hb.box.to(dev), node = hb.node.to(dev), order = hb.order.to(dev), root = hb.root.to(dev);
  const auto bstart = hc.start.to(dev), bedge = hc.edge.to(dev), fd = faces.contiguous();
  const auto cf = cloud_first.contiguous(), cs = cloud_size.contiguous();
  AT_DISPATCH_FLOATING_TYPES(pts.scalar_type(), "winding_number_cuda", [&] {
    winding_kernel<scalar_t><<<cuda::num_blocks(P), cuda::kThreads, 0, c10::cuda::getCurrentCUDAStream()>>>(
        pts.const_data_ptr<scalar_t>(), cf.const_data_ptr<int64_t>(), cs.const_data_ptr<int64_t>(), N, P,
        v.const_data_ptr<scalar_t>(), fd.const_data_ptr<int64_t>(), box.const_data_ptr<scalar_t>(),
        node.const_data_ptr<int64_t>(), order.const_data_ptr<int64_t>(), bstart.const_data_ptr<int64_t>(),
        bedge.const_data_ptr<int64_t>(), root.const_data_ptr<int64_t>(), M, out.mutable_data_ptr<scalar_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return out.to(points.scalar_type());
}

}  // namespace
}  // namespace wn
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CUDA, m) {
  m.impl("winding_number", &mg::wn::winding_number_cuda);
}
