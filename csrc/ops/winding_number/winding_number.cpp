// Schemas for winding_number and winding_number_backward (contract in winding_number.h) and their shared checks.
#include <torch/library.h>

#include "winding_number.h"

#include "../../common/checks.h"

TORCH_LIBRARY_FRAGMENT(meshgraph, m) {
  m.def(
      "winding_number(Tensor points, Tensor cloud_first, Tensor cloud_size, Tensor verts, Tensor faces, "
      "Tensor box, Tensor node, Tensor order, Tensor root, Tensor chain_start, Tensor chain_edge) -> Tensor",
      {at::Tag::pt2_compliant_tag});
  m.def(
      "winding_number_backward(Tensor grad, Tensor points, Tensor cloud_first, Tensor cloud_size, Tensor verts, "
      "Tensor faces, Tensor box, Tensor node, Tensor order, Tensor root, Tensor chain_start, Tensor chain_edge) "
      "-> (Tensor, Tensor)",
      {at::Tag::pt2_compliant_tag});
}

namespace mg {
namespace wn {

int64_t check_inputs(const at::Tensor& points, const at::Tensor& cloud_first, const at::Tensor& cloud_size,
                     const at::Tensor& verts, const at::Tensor& faces, const at::Tensor& box, const at::Tensor& node,
                     const at::Tensor& order, const at::Tensor& root, const at::Tensor& chain_start,
                     const at::Tensor& chain_edge) {
  TORCH_CHECK(points.dim() == 2 && points.size(1) == 3, "points must be (P, 3)");
  TORCH_CHECK(verts.dim() == 2 && verts.size(1) == 3, "verts must be (V, 3)");
  TORCH_CHECK(faces.dim() == 2 && faces.size(1) == 3, "faces must be (F, 3)");
  MG_CHECK_FLOATING(points);
  MG_CHECK_SAME_DTYPE(points, verts);
  MG_CHECK_DTYPE(faces, at::kLong);
  MG_CHECK_SAME_DEVICE(points, verts);
  MG_CHECK_SAME_DEVICE(points, faces);
  const int64_t N = cloud_first.dim() == 1 ? cloud_first.size(0) : -1;
  TORCH_CHECK(N >= 0, "cloud_first must be (N,)");
  check_ranges(cloud_first, cloud_size, N, points.size(0), points, "cloud_first", "cloud_size", /*disjoint=*/true);
  const auto acc = points.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  const int64_t M = bvh::check_bvh(box, node, order, root, faces.size(0), N, points, acc);
  const int64_t V = verts.size(0);
  bvh::check_chains(chain_start, chain_edge, M, V, points);
  if (faces.device().is_cpu()) {
    const at::Tensor fc = faces.contiguous();
    const int64_t* fp = fc.const_data_ptr<int64_t>();
    for (int64_t i = 0; i < fc.numel(); ++i)
      TORCH_CHECK(fp[i] >= 0 && fp[i] < V, "faces must index verts: face ", i / 3, " holds ", fp[i], ", V = ", V);
  }
  return M;
}

}  // namespace wn
}  // namespace mg
