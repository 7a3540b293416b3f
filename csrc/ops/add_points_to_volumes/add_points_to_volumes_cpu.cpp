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

std::tuple<at::Tensor, at::Tensor> add_points_to_volumes_cpu(
    const at::Tensor& points_3d, const at::Tensor& points_features, const at::Tensor& volume_densities,
    const at::Tensor& volume_features, const at::Tensor& grid_sizes, const at::Tensor& mask, double point_weight,
    bool align_corners, c10::string_view mode) {
  const Forward fw = forward_prologue(points_3d, points_features, volume_densities, volume_features, grid_sizes, mask,
                                      point_weight, align_corners, mode);
  if (fw.done) return {fw.dens.to(fw.c.dt), fw.feat.to(fw.c.dt)};
  auto dens = fw.dens, feat = fw.feat;
  const auto dt = fw.c.dt;
  const bool trilinear = fw.c.trilinear;
  const int64_t N = fw.c.N, P = fw.c.P, C = fw.c.C, D = fw.c.D, H = fw.c.H, W = fw.c.W;
  const auto &pts = fw.c.pts, &pf = fw.c.pf, &mk = fw.c.mk, &gs = fw.c.gs;
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
  const Call c = prepare(mode, points_3d, points_features, grad_densities, grad_features, "grad_densities",
                         "grad_features", grid_sizes, mask);
  const PointGrads grads = zero_point_grads(c);
  const auto dt = c.dt;
  if (c.empty()) return grads.result();
  const bool trilinear = c.trilinear;
  const int64_t N = c.N, P = c.P, C = c.C, D = c.D, H = c.H, W = c.W;
  const auto &pts = c.pts, &pf = c.pf, &mk = c.mk, &gs = c.gs;
  const auto gd = grad_densities.contiguous(), gv = grad_features.contiguous();
  const int64_t HW = H * W, DHW = D * HW;
  MG_DISPATCH_FLOATING_TYPES(dt, "add_points_to_volumes_backward_cpu", [&] {
    using acc_t = mg::acc_t<scalar_t>;
    const scalar_t* pp = pts.const_data_ptr<scalar_t>();
    const scalar_t* fp = pf.const_data_ptr<scalar_t>();
    const scalar_t* mp = mk.const_data_ptr<scalar_t>();
    const int64_t* gp = gs.const_data_ptr<int64_t>();
    const scalar_t* gdp = gd.const_data_ptr<scalar_t>();
    const scalar_t* gvp = gv.const_data_ptr<scalar_t>();
    acc_t* opp = grads.pts.mutable_data_ptr<acc_t>();
    acc_t* ofp = grads.feat.mutable_data_ptr<acc_t>();
    const acc_t pw = static_cast<acc_t>(point_weight);
    at::parallel_for(0, N * P, 256, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        if (static_cast<acc_t>(mp[i]) == acc_t(0)) continue;
        const int64_t n = i / P;
        const int64_t gz = gp[3 * n], gy = gp[3 * n + 1], gx = gp[3 * n + 2];
        point_backward<scalar_t, acc_t>(pp + 3 * i, fp + C * i, gdp + n * DHW, gvp + n * C * DHW, gx, gy, gz, C, D, H,
                                        W, pw, align_corners, trilinear, opp + 3 * i, ofp + C * i);
      }
    });
  });
  return grads.result();
}

}  // namespace
}  // namespace points_to_volumes
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CPU, m) {
  m.impl("add_points_to_volumes", &mg::points_to_volumes::add_points_to_volumes_cpu);
  m.impl("add_points_to_volumes_backward", &mg::points_to_volumes::add_points_to_volumes_backward_cpu);
}
