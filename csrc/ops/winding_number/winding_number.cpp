// Schemas for winding_number and winding_number_backward (contract in winding_number.h) and their shared checks.
#include <torch/library.h>

#include "winding_number.h"

TORCH_LIBRARY_FRAGMENT(meshgraph, m) {
  m.def(
      "winding_number(Tensor points, Tensor cloud_first, Tensor cloud_size, Tensor verts, Tensor faces, "
      "Tensor box, Tensor node, Tensor order, Tensor root, Tensor chain_start, Tensor chain_edge) -> Tensor",
      {at::Tag::pt2_compliant_tag});
  m.def(
      "winding_number_backward(Tensor grad, Tensor points, Tensor cloud_first, Tensor cloud_size, Tensor verts, "
      "Tensor faces, Tensor box, Tensor node, Tensor order, Tensor root, Tensor chain_start, Tensor chain_edge) "
      "-> (Tensor, Tensor)",
      {at::Tag::pt2_compliant_tag});
}

namespace mg {
namespace wn {

int64_t check_inputs(const at::Tensor& points, const at::Tensor& cloud_first, const at::Tensor& cloud_size,
                     const at::Tensor& verts, const at::Tensor& faces, const at::Tensor& box, const at::Tensor& node,
                     const at::Tensor& order, const at::Tensor& root, const at::Tensor& chain_start,
                     const at::Tensor& chain_edge) {
  const int64_t M = bvh::check_point_query(points, cloud_first, cloud_size, verts, faces, box, node, order, root);
  bvh::check_chains(chain_start, chain_edge, M, verts.size(0), points);
  return M;
}

}  // namespace wn
}  // namespace mg
