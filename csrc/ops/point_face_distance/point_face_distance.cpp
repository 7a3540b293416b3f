// Schema for point_face_distance_idx (contract in point_face_distance.h) and its shared checks.
#include <torch/library.h>

#include "point_face_distance.h"

TORCH_LIBRARY_FRAGMENT(meshgraph, m) {
  m.def(
      "point_face_distance_idx(Tensor points, Tensor cloud_first, Tensor cloud_size, Tensor tris, Tensor mesh_first, "
      "Tensor mesh_size) -> (Tensor, Tensor)",
      {at::Tag::pt2_compliant_tag});
}

namespace mg {
namespace pfd {

void check_inputs(const at::Tensor& points, const at::Tensor& cloud_first, const at::Tensor& cloud_size,
                  const at::Tensor& tris, const at::Tensor& mesh_first, const at::Tensor& mesh_size) {
  TORCH_CHECK(points.dim() == 2 && points.size(1) == 3, "points must be (P, 3)");
  TORCH_CHECK(tris.dim() == 3 && tris.size(1) == 3 && tris.size(2) == 3, "tris must be (F, 3, 3)");
  TORCH_CHECK(points.scalar_type() == tris.scalar_type(), "points and tris must share a dtype");
  TORCH_CHECK(points.scalar_type() == at::kFloat || points.scalar_type() == at::kDouble,
              "points must be float32 or float64");
  for (const auto* t : {&cloud_first, &cloud_size, &mesh_first, &mesh_size}) {
    TORCH_CHECK(t->dim() == 1 && t->scalar_type() == at::kLong, "offsets and sizes must be (N,) int64");
    TORCH_CHECK(t->size(0) == cloud_first.size(0), "offsets and sizes must all have N entries");
    TORCH_CHECK(t->device() == points.device(), "all inputs must share a device");
  }
  TORCH_CHECK(tris.device() == points.device(), "all inputs must share a device");
}

}  // namespace pfd
}  // namespace mg
