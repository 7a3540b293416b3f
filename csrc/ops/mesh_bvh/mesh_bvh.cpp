// Schema for mesh_bvh (contract in mesh_bvh.h).
#include <torch/library.h>

#include "mesh_bvh.h"

TORCH_LIBRARY_FRAGMENT(meshgraph, m) {
  m.def(
      "mesh_bvh(Tensor verts, Tensor faces, Tensor mesh_first, Tensor mesh_size) -> (Tensor box, Tensor node, "
      "Tensor order, Tensor root, Tensor chain_start, Tensor chain_edge)",
      {at::Tag::pt2_compliant_tag});
}
