// Schemas for spline_weighting; contract in spline_weighting.h. The optional transposed CSR (rowptr_t, col_t,
// eid_t) is not read by the forward: autograd passes it to the backward, which needs it for grad_x.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(meshgraph, m) {
  m.def(
      "spline_weighting(Tensor x, Tensor weight, Tensor basis, Tensor weight_index, Tensor rowptr, Tensor col, "
      "str reduce, Tensor? rowptr_t=None, Tensor? col_t=None, Tensor? eid_t=None) -> Tensor",
      {at::Tag::pt2_compliant_tag});
  m.def(
      "spline_weighting_backward(Tensor grad_out, Tensor x, Tensor weight, Tensor basis, Tensor weight_index, "
      "Tensor rowptr, Tensor col, str reduce, Tensor rowptr_t, Tensor col_t, Tensor eid_t, bool[3] output_mask) "
      "-> (Tensor, Tensor, Tensor)",
      {at::Tag::pt2_compliant_tag});
}
