// Schemas for the fused gather-scatter family; contract in gather_scatter.h.
// The optional transposed CSR (rowptr_t, col_t, eid_t) is not read by the forward kernels: autograd uses it
// for the backward pass (callers such as GraphBatch pass a cached one; otherwise backward builds it).
// edge_dot's heads is an output size (the result is (E, heads) when heads > 1): SymInt, as every size is.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(meshgraph, m) {
  m.def(
      "gather_scatter(Tensor x, Tensor rowptr, Tensor col, Tensor? weight, str reduce, Tensor? rowptr_t=None, "
      "Tensor? col_t=None, Tensor? eid_t=None) -> (Tensor, Tensor)",
      {at::Tag::pt2_compliant_tag});
  m.def(
      "edge_dot(Tensor a, Tensor b, Tensor rowptr, Tensor col, SymInt heads=1, Tensor? rowptr_t=None, Tensor? col_t=None, "
      "Tensor? eid_t=None) -> Tensor",
      {at::Tag::pt2_compliant_tag});
  m.def(
      "gather_scatter_arg_backward(Tensor grad_out, Tensor x, Tensor arg, Tensor rowptr_t, Tensor col_t, "
      "Tensor eid_t, Tensor? weight, bool compute_grad_weight) -> (Tensor, Tensor)",
      {at::Tag::pt2_compliant_tag});
}
