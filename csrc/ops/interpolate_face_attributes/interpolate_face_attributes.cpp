// Schemas for interpolate_face_attributes and its backward (contract in interpolate_face_attributes.h).
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(meshgraph, m) {
  m.def("interpolate_face_attributes(Tensor pix_to_face, Tensor bary, Tensor values, Tensor? faces) -> Tensor",
        {at::Tag::pt2_compliant_tag});
  m.def(
      "interpolate_face_attributes_backward(Tensor grad, Tensor pix_to_face, Tensor bary, Tensor values, "
      "Tensor? faces) -> (Tensor, Tensor)",
      {at::Tag::pt2_compliant_tag});
}
