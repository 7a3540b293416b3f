// Schemas for composite_points and its backward (contract in composite_points.h).
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(meshgraph, m) {
  m.def("composite_points(Tensor features, Tensor alphas, Tensor idx, int mode) -> Tensor",
        {at::Tag::pt2_compliant_tag});
  m.def(
      "composite_points_backward(Tensor grad_out, Tensor features, Tensor alphas, Tensor idx, int mode) -> "
      "(Tensor, Tensor)",
      {at::Tag::pt2_compliant_tag});
}
