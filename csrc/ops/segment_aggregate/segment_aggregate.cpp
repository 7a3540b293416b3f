// Schemas for segment_aggregate; contract in segment_aggregate.h.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(meshgraph, m) {
  m.def(
      "segment_aggregate(Tensor x, Tensor rowptr, Tensor? col, str[] reduce, Tensor? t=None, Tensor? p=None, "
      "float? clamp_min=None, float? clamp_max=None, bool semi_grad=False) -> (Tensor, Tensor)",
      {at::Tag::pt2_compliant_tag});
  m.def(
      "segment_aggregate_backward(Tensor grad, Tensor x, Tensor out, Tensor stats, Tensor rowptr, Tensor? col, "
      "str[] reduce, Tensor? t=None, Tensor? p=None, float? clamp_min=None, float? clamp_max=None, "
      "bool semi_grad=False) -> (Tensor, Tensor, Tensor)",
      {at::Tag::pt2_compliant_tag});
}
