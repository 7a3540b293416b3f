// Schemas for add_points_to_volumes and its backward (contract in add_points_to_volumes.h), and the ATen-only
// deterministic forward reduction shared by the CUDA kernel and MESHGRAPH_DEVICE_PATH=1 on CPU.
#include <ATen/ATen.h>
#include <torch/library.h>

#include "add_points_to_volumes.h"

TORCH_LIBRARY_FRAGMENT(meshgraph, m) {
  m.def(
      "add_points_to_volumes(Tensor points_3d, Tensor points_features, Tensor volume_densities, "
      "Tensor volume_features, Tensor grid_sizes, Tensor mask, float point_weight, bool align_corners, str mode) -> "
      "(Tensor, Tensor)",
      {at::Tag::pt2_compliant_tag});
  m.def(
      "add_points_to_volumes_backward(Tensor grad_densities, Tensor grad_features, Tensor points_3d, "
      "Tensor points_features, Tensor grid_sizes, Tensor mask, float point_weight, bool align_corners, str mode) -> "
      "(Tensor, Tensor)",
      {at::Tag::pt2_compliant_tag});
}

namespace mg {
namespace points_to_volumes {

void splat_deterministic(const at::Tensor& points_3d, const at::Tensor& points_features, const at::Tensor& grid_sizes,
                         const at::Tensor& mask, double point_weight, bool align_corners, bool trilinear,
                         at::Tensor& dens, at::Tensor& feat) {
  const int64_t N = points_3d.size(0), P = points_3d.size(1), C = points_features.size(2);
  const int64_t D = dens.size(2), H = dens.size(3), W = dens.size(4);
  if (N * P == 0 || D * H * W == 0) return;
  const auto acc = dens.scalar_type();
  const auto p = points_3d.to(acc);                                                       // (N, P, 3)
  const auto dims = at::tensor({W, H, D}, grid_sizes.options());                           // x, y, z
  const auto g = at::minimum(grid_sizes.flip({1}).clamp_min(0), dims).to(acc).unsqueeze(1);  // (N, 1, 3) x, y, z
  const auto scale = align_corners ? g - 1 : g;
  auto loc = (p + 1) * 0.5 * scale;
  if (!align_corners) loc = loc - 0.5;
  const auto in_range = loc.ge(-1).logical_and_(loc.lt(g)).all(2);                         // (N, P): finite too
  const auto keep = in_range.logical_and_(mask.ne(0));
  const auto safe = at::where(keep.unsqueeze(2), loc, at::zeros({}, loc.options()));
  // lower corner and fraction (trilinear), or the nearest voxel: round half away from zero, exactly
  at::Tensor base, frac;
  if (trilinear) {
    base = safe.floor();
    frac = safe - base;
  } else {
    const auto t = safe.trunc();
    base = t + at::where((safe - t).abs().ge(0.5), safe.sign(), at::zeros({}, safe.options()));
    frac = at::zeros_like(safe);
  }
  const auto nidx = at::arange(N, grid_sizes.options()).view({N, 1});
  const auto f = points_features.to(acc).reshape({N * P, C});
  auto rows = at::zeros({N * D * H * W, C}, dens.options());
  auto dflat = dens.view({-1});
  const int corners = trilinear ? 8 : 1;
  for (int k = 0; k < corners; ++k) {
    const int ux = (k >> 2) & 1, uy = (k >> 1) & 1, uz = k & 1;
    const auto up = at::tensor({double(ux), double(uy), double(uz)}, loc.options());
    const auto c = base + up;                                                             // (N, P, 3)
    auto w = trilinear ? at::where(up.gt(0), frac, 1 - frac).prod(2) : at::ones({N, P}, loc.options());
    const auto valid = c.ge(0).logical_and_(c.lt(g)).all(2).logical_and_(keep);
    const auto ci = at::where(valid.unsqueeze(2), c, at::zeros({}, c.options())).to(at::kLong);
    const auto lin = (((nidx * D + ci.select(2, 2)) * H + ci.select(2, 1)) * W + ci.select(2, 0)).reshape({-1});
    w = at::where(valid, w, at::zeros({}, w.options())).reshape({-1});
    dflat.index_put_({lin}, w * point_weight, /*accumulate=*/true);
    // invalid votes add exact zeros to voxel 0 (a where, not a product: a skipped point's NaN features stay out)
    const auto contrib = at::where(valid.reshape({-1, 1}), f * w.unsqueeze(1) * point_weight, 0);
    rows.index_put_({lin}, contrib, /*accumulate=*/true);
  }
  feat.add_(rows.view({N, D, H, W, C}).permute({0, 4, 1, 2, 3}));
}

}  // namespace points_to_volumes
}  // namespace mg
