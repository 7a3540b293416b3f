// Schema for graclus; contract in graclus.h.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(meshgraph, m) {
  m.def("graclus(Tensor rowptr, Tensor col, Tensor? weight, int seed) -> Tensor", {at::Tag::pt2_compliant_tag});
}
