// CUDA entry of mesh_bvh (contract in mesh_bvh.h): built on the host from copies of the vertices and faces (one
// synchronisation per build, none per query), then moved to the device.
#include <ATen/core/Tensor.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include <tuple>

#include "mesh_bvh.h"

namespace mg {
namespace bvh {
namespace {

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor> mesh_bvh_cuda(
    const at::Tensor& verts, const at::Tensor& faces, const at::Tensor& mesh_first, const at::Tensor& mesh_size) {
  const c10::cuda::CUDAGuard guard(verts.device());
  auto [box, node, order, root, start, edge] = build_host(verts, faces, mesh_first, mesh_size);
  const auto dev = verts.device();
  return {box.to(dev), node.to(dev), order.to(dev), root.to(dev), start.to(dev), edge.to(dev)};
}

}  // namespace
}  // namespace bvh
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CUDA, m) {
  m.impl("mesh_bvh", &mg::bvh::mesh_bvh_cuda);
}
