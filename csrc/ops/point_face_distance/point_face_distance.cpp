// Schema for point_face_distance_idx (contract in point_face_distance.h) and its shared checks.
#include <torch/library.h>

#include "point_face_distance.h"

#include "../../common/checks.h"

TORCH_LIBRARY_FRAGMENT(meshgraph, m) {
  m.def(
      "point_face_distance_idx(Tensor points, Tensor cloud_first, Tensor cloud_size, Tensor tris, Tensor mesh_first, "
      "Tensor mesh_size) -> (Tensor, Tensor)",
      {at::Tag::pt2_compliant_tag});
}

namespace mg {
namespace pfd {

// Devices, dtypes and shapes of every argument; on CPU also every element's [first, first + size) within the
// packed points / triangles (checks.h). The CUDA kernels clamp each range into [0, P) / [0, F) instead.
void check_inputs(const at::Tensor& points, const at::Tensor& cloud_first, const at::Tensor& cloud_size,
                  const at::Tensor& tris, const at::Tensor& mesh_first, const at::Tensor& mesh_size) {
  TORCH_CHECK(points.dim() == 2 && points.size(1) == 3, "points must be (P, 3)");
  TORCH_CHECK(tris.dim() == 3 && tris.size(1) == 3 && tris.size(2) == 3, "tris must be (F, 3, 3)");
  MG_CHECK_SAME_DTYPE(points, tris);
  MG_CHECK_FLOATING(points);
  MG_CHECK_SAME_DEVICE(points, tris);
  const int64_t N = cloud_first.dim() == 1 ? cloud_first.size(0) : -1;
  TORCH_CHECK(N >= 0, "cloud_first must be (N,)");
  check_ranges(cloud_first, cloud_size, N, points.size(0), points, "cloud_first", "cloud_size");
  check_ranges(mesh_first, mesh_size, N, tris.size(0), points, "mesh_first", "mesh_size");
}

}  // namespace pfd
}  // namespace mg
