// Schemas for emission_absorption and its backward (contract in emission_absorption.h).
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(meshgraph, m) {
  m.def("emission_absorption(Tensor densities, Tensor features, float eps, int surface_thickness) -> "
        "(Tensor features_out, Tensor opacities)",
        {at::Tag::pt2_compliant_tag});
  m.def(
      "emission_absorption_backward(Tensor grad_features, Tensor grad_opacities, Tensor densities, "
      "Tensor features, float eps, int surface_thickness) -> (Tensor grad_densities, Tensor grad_features_in)",
      {at::Tag::pt2_compliant_tag});
}
