// Schema for marching_cubes (contract in marching_cubes.h).
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(meshgraph, m) {
  m.def(
      "marching_cubes(Tensor vol_batch, Tensor isolevel) -> (Tensor verts, Tensor faces, Tensor verts_per_volume, "
      "Tensor faces_per_volume)",
      {at::Tag::pt2_compliant_tag});
}
