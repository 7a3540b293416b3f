// CPU kernels for add_points_to_volumes (contract in add_points_to_volumes.h). Forward: the work is cut into
// (batch element, depth slab) units, each owned by one thread, which walks that element's points in order and adds
// only the votes that land in its slab: every voxel is written by one thread, in point order (deterministic, no
// atomics, no per-thread volume copies). Backward: one point per iteration (each point owns its gradient rows).
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <torch/library.h>

#include <algorithm>
#include <tuple>

#include "../../common/determinism.h"
#include "../../common/dispatch.h"
#include "add_points_to_volumes.h"

namespace mg {
namespace points_to_volumes {
namespace {

std::tuple<at::Tensor, at::Tensor> add_points_to_volumes_cpu(const at::Tensor& points_3d,
                                                             const at::Tensor& points_features,
                                                             const at::Tensor& volume_densities,
                                                             const at::Tensor& volume_features,
                                                             const at::Tensor& grid_sizes, const at::Tensor& mask,
                                                             double point_weight, bool align_corners,
                                                             c10::string_view mode) {
  const bool trilinear = is_trilinear(mode);
  check_volumes(points_3d, points_features, volume_densities, volume_features, "volume_densities",
                "volume_features");
  const int64_t N = points_3d.size(0), P = points_3d.size(1), C = points_features.size(2);
  const int64_t D = volume_densities.size(2), H = volume_densities.size(3), W = volume_densities.size(4);
  check_points(points_3d, points_features, grid_sizes, mask, D, H, W);
  const auto dt = points_3d.scalar_type();
  const auto acc_opts = points_3d.options().dtype(at::toOpMathType(dt));
  // sums in the accumulation dtype (float32 for float16 / bfloat16); no extra copy for float32 / float64
  auto dens = at::empty(volume_densities.sizes(), acc_opts).copy_(volume_densities);
  auto feat = at::empty(volume_features.sizes(), acc_opts).copy_(volume_features);
  if (N * P == 0 || D * H * W == 0) return {dens.to(dt), feat.to(dt)};
  if (use_deterministic_path(points_3d)) {  // MESHGRAPH_DEVICE_PATH=1: the CUDA side's deterministic path
    splat_deterministic(points_3d, points_features, grid_sizes, mask, point_weight, align_corners, trilinear, dens,
                        feat);
    return {dens.to(dt), feat.to(dt)};
  }
  const auto pts = points_3d.contiguous(), pf = points_features.contiguous(), mk = mask.contiguous();
  const auto gs = grid_sizes.contiguous();
  // slabs per element: enough units for every thread when N is small
  const int64_t threads = at::get_num_threads();
  const int64_t slabs = std::max<int64_t>(1, std::min<int64_t>(D, (threads + N - 1) / N));
  const int64_t HW = H * W, DHW = D * HW;
  MG_DISPATCH_FLOATING_TYPES(dt, "add_points_to_volumes_cpu", [&] {
    using acc_t = mg::acc_t<scalar_t>;
    const scalar_t* pp = pts.const_data_ptr<scalar_t>();
    const scalar_t* fp = pf.const_data_ptr<scalar_t>();
    const scalar_t* mp = mk.const_data_ptr<scalar_t>();
    const int64_t* gp = gs.const_data_ptr<int64_t>();
    acc_t* dp = dens.mutable_data_ptr<acc_t>();
    acc_t* vp = feat.mutable_data_ptr<acc_t>();
    const acc_t pw = static_cast<acc_t>(point_weight);
    at::parallel_for(0, N * slabs, 1, [&](int64_t u0, int64_t u1) {
      for (int64_t u = u0; u < u1; ++u) {
        const int64_t n = u / slabs, s = u % slabs;
        const int64_t gz = gp[3 * n], gy = gp[3 * n + 1], gx = gp[3 * n + 2];
        const int64_t z_lo = gz * s / slabs, z_hi = gz * (s + 1) / slabs;
        if (z_lo >= z_hi) continue;
        acc_t* dn = dp + n * DHW;
        acc_t* vn = vp + n * C * DHW;
        for (int64_t p = 0; p < P; ++p) {
          const int64_t i = n * P + p;
          if (static_cast<acc_t>(mp[i]) == acc_t(0)) continue;
          const scalar_t* xyz = pp + 3 * i;
          const scalar_t* f = fp + C * i;
          for_each_vote<acc_t>(
              static_cast<acc_t>(xyz[0]), static_cast<acc_t>(xyz[1]), static_cast<acc_t>(xyz[2]), gx, gy, gz,
              align_corners, trilinear,
              [&](int64_t x, int64_t y, int64_t z, acc_t w, int, int, int, acc_t, acc_t, acc_t) {
                if (z < z_lo || z >= z_hi) return;
                const int64_t v = z * HW + y * W + x;
                dn[v] += w * pw;
                for (int64_t c = 0; c < C; ++c) vn[c * DHW + v] += static_cast<acc_t>(f[c]) * w * pw;
              });
        }
      }
    });
  });
  return {dens.to(dt), feat.to(dt)};
}

std::tuple<at::Tensor, at::Tensor> add_points_to_volumes_backward_cpu(
    const at::Tensor& grad_densities, const at::Tensor& grad_features, const at::Tensor& points_3d,
    const at::Tensor& points_features, const at::Tensor& grid_sizes, const at::Tensor& mask, double point_weight,
    bool align_corners, c10::string_view mode) {
  const bool trilinear = is_trilinear(mode);
  check_volumes(points_3d, points_features, grad_densities, grad_features, "grad_densities", "grad_features");
  const int64_t N = points_3d.size(0), P = points_3d.size(1), C = points_features.size(2);
  const int64_t D = grad_densities.size(2), H = grad_densities.size(3), W = grad_densities.size(4);
  check_points(points_3d, points_features, grid_sizes, mask, D, H, W);
  const auto dt = points_3d.scalar_type();
  const auto acc_opts = points_3d.options().dtype(at::toOpMathType(dt));
  auto gpts = at::zeros({N, P, 3}, acc_opts);
  auto gfeat = at::zeros({N, P, C}, acc_opts);
  if (N * P == 0 || D * H * W == 0) return {gpts.to(dt), gfeat.to(dt)};
  const auto pts = points_3d.contiguous(), pf = points_features.contiguous(), mk = mask.contiguous();
  const auto gs = grid_sizes.contiguous(), gd = grad_densities.contiguous(), gv = grad_features.contiguous();
  const int64_t HW = H * W, DHW = D * HW;
  MG_DISPATCH_FLOATING_TYPES(dt, "add_points_to_volumes_backward_cpu", [&] {
    using acc_t = mg::acc_t<scalar_t>;
    const scalar_t* pp = pts.const_data_ptr<scalar_t>();
    const scalar_t* fp = pf.const_data_ptr<scalar_t>();
    const scalar_t* mp = mk.const_data_ptr<scalar_t>();
    const int64_t* gp = gs.const_data_ptr<int64_t>();
    const scalar_t* gdp = gd.const_data_ptr<scalar_t>();
    const scalar_t* gvp = gv.const_data_ptr<scalar_t>();
    acc_t* opp = gpts.mutable_data_ptr<acc_t>();
    acc_t* ofp = gfeat.mutable_data_ptr<acc_t>();
    const acc_t pw = static_cast<acc_t>(point_weight);
    at::parallel_for(0, N * P, 256, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        if (static_cast<acc_t>(mp[i]) == acc_t(0)) continue;
        const int64_t n = i / P;
        const int64_t gz = gp[3 * n], gy = gp[3 * n + 1], gx = gp[3 * n + 2];
        const scalar_t* xyz = pp + 3 * i;
        const scalar_t* f = fp + C * i;
        const scalar_t* gdn = gdp + n * DHW;
        const scalar_t* gvn = gvp + n * C * DHW;
        acc_t* gpi = opp + 3 * i;
        acc_t* gfi = ofp + C * i;
        const acc_t sx = voxel_coord_scale<acc_t>(gx, align_corners), sy = voxel_coord_scale<acc_t>(gy, align_corners),
                    sz = voxel_coord_scale<acc_t>(gz, align_corners);
        for_each_vote<acc_t>(
            static_cast<acc_t>(xyz[0]), static_cast<acc_t>(xyz[1]), static_cast<acc_t>(xyz[2]), gx, gy, gz,
            align_corners, trilinear,
            [&](int64_t x, int64_t y, int64_t z, acc_t w, int ux, int uy, int uz, acc_t wx, acc_t wy, acc_t wz) {
              const int64_t v = z * HW + y * W + x;
              acc_t src = static_cast<acc_t>(gdn[v]);
              for (int64_t c = 0; c < C; ++c) {
                const acc_t g = static_cast<acc_t>(gvn[c * DHW + v]);
                gfi[c] += g * w * pw;
                if (trilinear) src += static_cast<acc_t>(f[c]) * g;
              }
              if (!trilinear) return;
              gpi[0] += src * acc_t(ux ? 1 : -1) * wy * wz * sx * pw;
              gpi[1] += src * acc_t(uy ? 1 : -1) * wx * wz * sy * pw;
              gpi[2] += src * acc_t(uz ? 1 : -1) * wx * wy * sz * pw;
            });
      }
    });
  });
  return {gpts.to(dt), gfeat.to(dt)};
}

}  // namespace
}  // namespace points_to_volumes
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CPU, m) {
  m.impl("add_points_to_volumes", &mg::points_to_volumes::add_points_to_volumes_cpu);
  m.impl("add_points_to_volumes_backward", &mg::points_to_volumes::add_points_to_volumes_backward_cpu);
}
