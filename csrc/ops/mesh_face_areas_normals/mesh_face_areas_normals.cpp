// Schemas for mesh_face_areas_normals and its backward (contract in mesh_face_areas_normals.h).
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(meshgraph, m) {
  m.def("mesh_face_areas_normals(Tensor verts, Tensor faces) -> (Tensor areas, Tensor normals)",
        {at::Tag::pt2_compliant_tag});
  m.def("mesh_face_areas_normals_backward(Tensor grad_areas, Tensor grad_normals, Tensor verts, Tensor faces) -> Tensor",
        {at::Tag::pt2_compliant_tag});
}
