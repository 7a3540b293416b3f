// Schemas for spline_basis; contract in spline_basis.h. S = (degree + 1)^D is a function of the degree and of
// pseudo's width, so the output sizes need no data.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(meshgraph, m) {
  m.def("spline_basis(Tensor pseudo, Tensor kernel_size, Tensor is_open_spline, int degree) -> (Tensor, Tensor)",
        {at::Tag::pt2_compliant_tag});
  m.def(
      "spline_basis_backward(Tensor grad_basis, Tensor pseudo, Tensor kernel_size, Tensor is_open_spline, "
      "int degree) -> Tensor",
      {at::Tag::pt2_compliant_tag});
}
