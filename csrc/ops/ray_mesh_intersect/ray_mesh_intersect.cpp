// Schema for ray_mesh_intersect_idx (contract in ray_mesh_intersect.h) and its shared checks.
#include <torch/library.h>

#include "ray_mesh_intersect.h"

#include "../../common/checks.h"

TORCH_LIBRARY_FRAGMENT(meshgraph, m) {
  m.def(
      "ray_mesh_intersect_idx(Tensor origins, Tensor directions, Tensor ray_first, Tensor ray_size, Tensor tris, "
      "Tensor box, Tensor node, Tensor order, Tensor root) -> (Tensor, Tensor, Tensor)",
      {at::Tag::pt2_compliant_tag});
}

namespace mg {
namespace rmi {

// Devices, dtypes and shapes of every argument; on CPU also the ray ranges (in order, disjoint) and the BVH
// structure (bvh::check_bvh).
int64_t check_inputs(const at::Tensor& origins, const at::Tensor& directions, const at::Tensor& ray_first,
                     const at::Tensor& ray_size, const at::Tensor& tris, const at::Tensor& box, const at::Tensor& node,
                     const at::Tensor& order, const at::Tensor& root) {
  TORCH_CHECK(origins.dim() == 2 && origins.size(1) == 3, "origins must be (R, 3)");
  MG_CHECK_SHAPE(directions, {origins.size(0), 3});
  TORCH_CHECK(tris.dim() == 3 && tris.size(1) == 3 && tris.size(2) == 3, "tris must be (F, 3, 3)");
  MG_CHECK_FLOATING(origins);
  MG_CHECK_SAME_DTYPE(origins, directions);
  MG_CHECK_SAME_DTYPE(origins, tris);
  MG_CHECK_SAME_DEVICE(origins, directions);
  MG_CHECK_SAME_DEVICE(origins, tris);
  const int64_t N = ray_first.dim() == 1 ? ray_first.size(0) : -1;
  TORCH_CHECK(N >= 0, "ray_first must be (N,)");
  check_ranges(ray_first, ray_size, N, origins.size(0), origins, "ray_first", "ray_size", /*disjoint=*/true);
  const auto acc = origins.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  return bvh::check_bvh(box, node, order, root, tris.size(0), N, origins, acc);
}

}  // namespace rmi
}  // namespace mg
