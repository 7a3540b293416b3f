// Schemas for neighbor_softmax; contract in neighbor_softmax.h.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(meshgraph, m) {
  m.def("neighbor_softmax(Tensor scores, Tensor rowptr, Tensor? edge_id=None) -> Tensor", {at::Tag::pt2_compliant_tag});
  m.def("neighbor_softmax_backward(Tensor grad, Tensor out, Tensor rowptr, Tensor? edge_id=None) -> Tensor", {at::Tag::pt2_compliant_tag});
}
