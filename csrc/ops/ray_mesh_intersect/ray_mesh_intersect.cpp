// Schema for ray_mesh_intersect_idx (contract in ray_mesh_intersect.h) and its shared checks.
#include <torch/library.h>

#include "ray_mesh_intersect.h"

#include "../../common/checks.h"

TORCH_LIBRARY_FRAGMENT(meshgraph, m) {
  m.def(
      "ray_mesh_intersect_idx(Tensor origins, Tensor directions, Tensor ray_first, Tensor ray_size, Tensor tris, "
      "Tensor mesh_first, Tensor mesh_size) -> (Tensor, Tensor)",
      {at::Tag::pt2_compliant_tag});
}

namespace mg {
namespace rmi {

// Devices, dtypes and shapes of every argument; on CPU also the ranges (rays: in order, disjoint). The triangle
// ranges are checked on both devices: the BVH is built from host copies of them.
void check_inputs(const at::Tensor& origins, const at::Tensor& directions, const at::Tensor& ray_first,
                  const at::Tensor& ray_size, const at::Tensor& tris, const at::Tensor& mesh_first,
                  const at::Tensor& mesh_size) {
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
  check_ranges(mesh_first, mesh_size, N, tris.size(0), origins, "mesh_first", "mesh_size");
  if (!mesh_first.device().is_cpu())
    check_ranges(mesh_first.cpu(), mesh_size.cpu(), N, tris.size(0), mesh_first.cpu(), "mesh_first", "mesh_size");
}

}  // namespace rmi
}  // namespace mg
