// Schema for sample_pdf (contract in sample_pdf.h).
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(meshgraph, m) {
  m.def("sample_pdf(Tensor bins, Tensor weights, Tensor uniforms, float eps) -> Tensor", {at::Tag::pt2_compliant_tag});
}
