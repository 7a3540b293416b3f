// CPU kernel for mesh_bvh (contract in mesh_bvh.h).
#include <ATen/core/Tensor.h>
#include <torch/library.h>

#include <tuple>

#include "mesh_bvh.h"

namespace mg {
namespace bvh {
namespace {

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor> mesh_bvh_cpu(
    const at::Tensor& verts, const at::Tensor& faces, const at::Tensor& mesh_first, const at::Tensor& mesh_size) {
  return build_host(verts, faces, mesh_first, mesh_size);
}

}  // namespace
}  // namespace bvh
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CPU, m) {
  m.impl("mesh_bvh", &mg::bvh::mesh_bvh_cpu);
}
