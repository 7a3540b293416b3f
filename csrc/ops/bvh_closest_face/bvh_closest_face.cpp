// Schema for bvh_closest_face_idx (contract in bvh_closest_face.h; its checks: bvh::check_point_query).
#include <torch/library.h>

#include "bvh_closest_face.h"

TORCH_LIBRARY_FRAGMENT(meshgraph, m) {
  m.def(
      "bvh_closest_face_idx(Tensor points, Tensor cloud_first, Tensor cloud_size, Tensor verts, Tensor faces, "
      "Tensor box, Tensor node, Tensor order, Tensor root) -> Tensor",
      {at::Tag::pt2_compliant_tag});
}
