// Schemas for symeig3x3 and its backward (contract in symeig3x3.h).
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(meshgraph, m) {
  m.def("symeig3x3(Tensor input) -> (Tensor eigenvalues, Tensor eigenvectors)", {at::Tag::pt2_compliant_tag});
  m.def(
      "symeig3x3_backward(Tensor? grad_eigenvalues, Tensor? grad_eigenvectors, Tensor eigenvalues, "
      "Tensor eigenvectors) -> Tensor",
      {at::Tag::pt2_compliant_tag});
}
