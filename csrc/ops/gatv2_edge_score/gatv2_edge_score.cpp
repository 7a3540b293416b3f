// Schemas for gatv2_edge_score; contract in gatv2_edge_score.h. The optional CSRs (dst_ptr, dst_perm, src_ptr,
// src_perm) are not read by the forward kernels: autograd passes them to the backward (layers pass the ones cached
// on the graph; without them the backward builds them, or uses atomics on CUDA).
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(meshgraph, m) {
  m.def(
      "gatv2_edge_score(Tensor x_l, Tensor x_r, Tensor? x_e, Tensor att, Tensor src, Tensor dst, "
      "float negative_slope, Tensor? dst_ptr=None, Tensor? dst_perm=None, Tensor? src_ptr=None, "
      "Tensor? src_perm=None) -> Tensor",
      {at::Tag::pt2_compliant_tag});
  m.def(
      "gatv2_edge_score_backward(Tensor grad, Tensor x_l, Tensor x_r, Tensor? x_e, Tensor att, Tensor src, "
      "Tensor dst, float negative_slope, Tensor? dst_ptr, Tensor? dst_perm, Tensor? src_ptr, Tensor? src_perm, "
      "bool[4] output_mask) -> (Tensor, Tensor, Tensor, Tensor)",
      {at::Tag::pt2_compliant_tag});
}
