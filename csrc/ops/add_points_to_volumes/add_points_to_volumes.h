// add_points_to_volumes: splat batched points and their features into voxel grids (PyTorch3D's points_to_volumes).
//
//   add_points_to_volumes(points_3d (N, P, 3), points_features (N, P, C), volume_densities (N, 1, D, H, W),
//                         volume_features (N, C, D, H, W), grid_sizes (N, 3) int64 (D_n, H_n, W_n), mask (N, P),
//                         float point_weight, bool align_corners, str mode) -> (densities, features)
//     Outputs are new tensors (the inputs are not modified): the input volumes plus, for every point p of batch
//     element n with mask[n, p] != 0 and every voxel v it votes for with weight w,
//       densities[n, 0, v] += w * point_weight,   features[n, c, v] += points_features[n, p, c] * w * point_weight.
//     Points are in the volume's local coordinates ([-1, 1] spans the grid of size grid_sizes[n], which may be
//     smaller than the padded D, H, W). Per axis (x: width, y: height, z: depth) the voxel coordinate is
//       loc = (p + 1) * 0.5 * (g - 1)          with align_corners,
//       loc = (p + 1) * 0.5 * g - 0.5          without (grid_sample's conventions).
//     mode "trilinear": the 8 voxels floor(loc) + {0, 1} with the trilinear weights (1 - r) or r, r = loc - floor(loc);
//     mode "nearest": the voxel round(loc) (half away from zero) with weight 1. Votes for voxels outside
//     [0, g) are dropped, and so are points whose coordinates are not finite (no out-of-range cast).
//     (PyTorch3D's C++ kernel splits loc with modf, i.e. truncation, which gives weights outside [0, 1] for
//     loc < 0; its own Python path floors. The floor is the trilinear scheme, and it is what we compute.)
//   add_points_to_volumes_backward(grad_densities (N, 1, D, H, W), grad_features (N, C, D, H, W), points_3d,
//                                  points_features, grid_sizes, mask, point_weight, align_corners, mode)
//     -> (grad_points_3d (N, P, 3), grad_points_features (N, P, C)); grad_points_3d is zero for "nearest".
//     (The gradients of the input volumes are the output gradients: the Python autograd passes them on.)
//   All floating tensors share one dtype: float16, bfloat16, float32 or float64; sums and weights are in
//   acc_t<scalar_t> (float32 for the half types), outputs in that dtype.
//   Checked in C++ on every backend: devices, dtypes, shapes. On CPU also 0 <= grid_sizes[n] <= (D, H, W); the
//   CUDA kernels clamp the grid sizes into that range instead (no device sync).
//   Determinism: the CPU forward gives every thread a disjoint range of (batch element, depth slab) and walks the
//   points in order, so each voxel sums its votes in point order (no atomics, no per-thread volume copies). The
//   CUDA forward adds with atomicAdd, or, under torch.use_deterministic_algorithms, with index_put_(accumulate)
//   (splat_deterministic below). Both backwards are per point (no reduction across points).
#pragma once

#include <c10/macros/Macros.h>

#include <cmath>
#include <cstdint>

namespace mg {
namespace points_to_volumes {

// The voxel coordinate of local coordinate p on an axis of g voxels (the order of PyTorch3D's kernel).
template <typename acc_t>
C10_HOST_DEVICE inline acc_t voxel_coord(acc_t p, int64_t g, bool align_corners) {
  const acc_t scale = static_cast<acc_t>(align_corners ? g - 1 : g);
  const acc_t offset = align_corners ? acc_t(0) : acc_t(0.5);
  return (p + acc_t(1)) * acc_t(0.5) * scale - offset;
}

// d loc / d p on that axis.
template <typename acc_t>
C10_HOST_DEVICE inline acc_t voxel_coord_scale(int64_t g, bool align_corners) {
  return acc_t(0.5) * static_cast<acc_t>(align_corners ? g - 1 : g);
}

// One axis of a point's vote: lower voxel i0 and fraction r (trilinear) or the voxel i0 itself (nearest,
// r = 0). ok is false when no voxel of this axis can receive a vote (loc not finite or out of range), so the
// cast to int64 only ever sees values in [-1, g].
template <typename acc_t>
struct AxisVote {
  int64_t i0;
  acc_t r;
  bool ok;
};

template <typename acc_t>
C10_HOST_DEVICE inline AxisVote<acc_t> axis_vote(acc_t loc, int64_t g, bool trilinear) {
  AxisVote<acc_t> a{0, acc_t(0), false};
  if (!(loc >= acc_t(-1) && loc < static_cast<acc_t>(g))) return a;  // also rejects NaN
  if (trilinear) {
    const acc_t f = ::floor(loc);
    a.i0 = static_cast<int64_t>(f);
    a.r = loc - f;
  } else {
    a.i0 = static_cast<int64_t>(::round(loc));  // half away from zero (PyTorch3D's lround)
  }
  a.ok = true;
  return a;
}

// The votes of one point: vote(x, y, z, w, ux, uy, uz, wx, wy, wz) for every voxel inside the (gz, gy, gx) grid
// that receives a vote, in PyTorch3D's corner order (x outermost); u* are the corner's offsets (0 or 1) and w* its
// per-axis weights (w = wx * wy * wz). For "nearest" there is at most one call, with w = 1.
template <typename acc_t, typename Vote>
C10_HOST_DEVICE inline void for_each_vote(acc_t px, acc_t py, acc_t pz, int64_t gx, int64_t gy, int64_t gz,
                                          bool align_corners, bool trilinear, const Vote& vote) {
  const AxisVote<acc_t> ax = axis_vote(voxel_coord(px, gx, align_corners), gx, trilinear);
  const AxisVote<acc_t> ay = axis_vote(voxel_coord(py, gy, align_corners), gy, trilinear);
  const AxisVote<acc_t> az = axis_vote(voxel_coord(pz, gz, align_corners), gz, trilinear);
  if (!(ax.ok && ay.ok && az.ok)) return;
  if (!trilinear) {
    if (ax.i0 >= 0 && ax.i0 < gx && ay.i0 >= 0 && ay.i0 < gy && az.i0 >= 0 && az.i0 < gz)
      vote(ax.i0, ay.i0, az.i0, acc_t(1), 0, 0, 0, acc_t(1), acc_t(1), acc_t(1));
    return;
  }
  for (int ux = 0; ux < 2; ++ux) {
    const int64_t x = ax.i0 + ux;
    if (x < 0 || x >= gx) continue;
    const acc_t wx = ux ? ax.r : acc_t(1) - ax.r;
    for (int uy = 0; uy < 2; ++uy) {
      const int64_t y = ay.i0 + uy;
      if (y < 0 || y >= gy) continue;
      const acc_t wy = uy ? ay.r : acc_t(1) - ay.r;
      for (int uz = 0; uz < 2; ++uz) {
        const int64_t z = az.i0 + uz;
        if (z < 0 || z >= gz) continue;
        const acc_t wz = uz ? az.r : acc_t(1) - az.r;
        vote(x, y, z, wx * wy * wz, ux, uy, uz, wx, wy, wz);
      }
    }
  }
}

// The backward of one point (both backends): xyz (3) and its features f (C) in a volume of grid (gz, gy, gx) <=
// (D, H, W) whose output gradients are gdn (D*H*W) and gvn (C, D*H*W); adds its feature gradient into gfi (C) and
// writes its position gradient to gpi (3; zeros for "nearest"). Votes in for_each_vote's order.
template <typename scalar_t, typename acc_t>
C10_HOST_DEVICE inline void point_backward(const scalar_t* xyz, const scalar_t* f, const scalar_t* gdn,
                                           const scalar_t* gvn, int64_t gx, int64_t gy, int64_t gz, int64_t C,
                                           int64_t D, int64_t H, int64_t W, acc_t pw, bool align_corners,
                                           bool trilinear, acc_t* gpi, acc_t* gfi) {
  const int64_t HW = H * W, DHW = D * HW;
  const acc_t sx = voxel_coord_scale<acc_t>(gx, align_corners), sy = voxel_coord_scale<acc_t>(gy, align_corners),
              sz = voxel_coord_scale<acc_t>(gz, align_corners);
  acc_t g0 = 0, g1 = 0, g2 = 0;
  for_each_vote<acc_t>(
      static_cast<acc_t>(xyz[0]), static_cast<acc_t>(xyz[1]), static_cast<acc_t>(xyz[2]), gx, gy, gz, align_corners,
      trilinear, [&](int64_t x, int64_t y, int64_t z, acc_t w, int ux, int uy, int uz, acc_t wx, acc_t wy, acc_t wz) {
        const int64_t v = z * HW + y * W + x;
        acc_t src = static_cast<acc_t>(gdn[v]);
        for (int64_t c = 0; c < C; ++c) {
          const acc_t g = static_cast<acc_t>(gvn[c * DHW + v]);
          gfi[c] += g * w * pw;
          if (trilinear) src += static_cast<acc_t>(f[c]) * g;
        }
        if (!trilinear) return;
        g0 += src * acc_t(ux ? 1 : -1) * wy * wz * sx * pw;
        g1 += src * acc_t(uy ? 1 : -1) * wx * wz * sy * pw;
        g2 += src * acc_t(uz ? 1 : -1) * wx * wy * sz * pw;
      });
  gpi[0] = g0;
  gpi[1] = g1;
  gpi[2] = g2;
}

}  // namespace points_to_volumes
}  // namespace mg

#include <ATen/OpMathType.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <c10/util/string_view.h>

#include <tuple>

#include "../../common/checks.h"
#include "../../common/determinism.h"

namespace mg {
namespace points_to_volumes {

// The schema's mode string: true for "trilinear", false for "nearest".
inline bool is_trilinear(c10::string_view mode) {
  if (mode == "trilinear") return true;
  TORCH_CHECK(mode == "nearest", "mode must be \"trilinear\" or \"nearest\", got \"", mode, "\"");
  return false;
}

// Devices, dtypes and shapes of the point-side arguments (both ops); on CPU also the grid sizes' range.
inline void check_points(const at::Tensor& points_3d, const at::Tensor& points_features, const at::Tensor& grid_sizes,
                         const at::Tensor& mask, int64_t D, int64_t H, int64_t W) {
  MG_CHECK_DIM(points_3d, 3);
  TORCH_CHECK(points_3d.size(2) == 3, "points_3d must be (N, P, 3), got ", points_3d.sizes());
  MG_CHECK_FLOATING(points_3d);
  const int64_t N = points_3d.size(0), P = points_3d.size(1);
  MG_CHECK_DIM(points_features, 3);
  TORCH_CHECK(points_features.size(0) == N && points_features.size(1) == P, "points_features must be (", N, ", ", P,
              ", C), got ", points_features.sizes());
  MG_CHECK_SAME_DTYPE(points_3d, points_features);
  MG_CHECK_SHAPE(grid_sizes, {N, 3});
  MG_CHECK_DTYPE(grid_sizes, at::kLong);
  MG_CHECK_SHAPE(mask, {N, P});
  MG_CHECK_SAME_DTYPE(points_3d, mask);
  MG_CHECK_SAME_DEVICE(points_3d, points_features);
  MG_CHECK_SAME_DEVICE(points_3d, grid_sizes);
  MG_CHECK_SAME_DEVICE(points_3d, mask);
  if (!grid_sizes.device().is_cpu() || N == 0) return;
  const at::Tensor g = grid_sizes.contiguous();
  const int64_t* gp = g.const_data_ptr<int64_t>();
  for (int64_t n = 0; n < N; ++n)
    TORCH_CHECK(gp[3 * n] >= 0 && gp[3 * n] <= D && gp[3 * n + 1] >= 0 && gp[3 * n + 1] <= H && gp[3 * n + 2] >= 0 &&
                    gp[3 * n + 2] <= W,
                "grid_sizes[", n, "] = (", gp[3 * n], ", ", gp[3 * n + 1], ", ", gp[3 * n + 2],
                ") must lie within the volumes' (", D, ", ", H, ", ", W, ")");
}

// A volume pair (densities (N, 1, D, H, W), features (N, C, D, H, W)) matching the points.
inline void check_volumes(const at::Tensor& points_3d, const at::Tensor& points_features, const at::Tensor& densities,
                          const at::Tensor& features, const char* dname, const char* fname) {
  TORCH_CHECK(densities.dim() == 5 && densities.size(0) == points_3d.size(0) && densities.size(1) == 1, dname,
              " must be (", points_3d.size(0), ", 1, D, H, W), got ", densities.sizes());
  TORCH_CHECK(features.dim() == 5 && features.size(0) == points_3d.size(0) &&
                  features.size(1) == points_features.size(2) && features.sizes().slice(2) == densities.sizes().slice(2),
              fname, " must be (", points_3d.size(0), ", ", points_features.size(2), ", ", densities.sizes().slice(2),
              "), got ", features.sizes());
  TORCH_CHECK(densities.scalar_type() == points_3d.scalar_type() && features.scalar_type() == points_3d.scalar_type(),
              dname, " and ", fname, " must have the dtype of points_3d (", points_3d.scalar_type(), "), got ",
              densities.scalar_type(), " and ", features.scalar_type());
  TORCH_CHECK(densities.device() == points_3d.device() && features.device() == points_3d.device(), dname, " and ",
              fname, " must be on the device of points_3d (", points_3d.device(), ")");
}

// The forward's votes added with ATen ops and index_put_(accumulate=true) (deterministic when PyTorch's
// deterministic algorithms are on): dens (N, 1, D, H, W) and feat (N, C, D, H, W) in the accumulation dtype are
// updated in place. Grid sizes are clamped into [0, (D, H, W)] (no device sync).
void splat_deterministic(const at::Tensor& points_3d, const at::Tensor& points_features, const at::Tensor& grid_sizes,
                         const at::Tensor& mask, double point_weight, bool align_corners, bool trilinear,
                         at::Tensor& dens, at::Tensor& feat);

// One call of either op after every check (both backends): the mode, the sizes, the dtype and its accumulation
// options, and the point-side operands made contiguous.
struct Call {
  bool trilinear;
  int64_t N, P, C, D, H, W;
  at::ScalarType dt;
  at::TensorOptions acc_opts;
  at::Tensor pts, pf, mk, gs;
  bool empty() const { return N * P == 0 || D * H * W == 0; }
};

// Checks a call whose volume pair (densities (N, 1, D, H, W), features (N, C, D, H, W): the inputs of the
// forward, the output gradients of the backward) is named dname / fname.
inline Call prepare(c10::string_view mode, const at::Tensor& points_3d, const at::Tensor& points_features,
                    const at::Tensor& densities, const at::Tensor& features, const char* dname, const char* fname,
                    const at::Tensor& grid_sizes, const at::Tensor& mask) {
  const bool trilinear = is_trilinear(mode);
  check_volumes(points_3d, points_features, densities, features, dname, fname);
  const int64_t D = densities.size(2), H = densities.size(3), W = densities.size(4);
  check_points(points_3d, points_features, grid_sizes, mask, D, H, W);
  const auto dt = points_3d.scalar_type();
  return {trilinear, points_3d.size(0), points_3d.size(1), points_features.size(2), D, H, W, dt,
          points_3d.options().dtype(at::toOpMathType(dt)), points_3d.contiguous(), points_features.contiguous(),
          mask.contiguous(), grid_sizes.contiguous()};
}

// The forward up to its kernel: the sums start from the input volumes, in the accumulation dtype (float32 for
// float16 / bfloat16; no extra copy for float32 / float64). `done` when nothing is left for the kernel: no points
// or voxels, or the deterministic path (torch.use_deterministic_algorithms on CUDA; MESHGRAPH_DEVICE_PATH=1 on CPU)
// has added the votes.
struct Forward {
  Call c;
  at::Tensor dens, feat;
  bool done;
};

inline Forward forward_prologue(const at::Tensor& points_3d, const at::Tensor& points_features,
                                const at::Tensor& volume_densities, const at::Tensor& volume_features,
                                const at::Tensor& grid_sizes, const at::Tensor& mask, double point_weight,
                                bool align_corners, c10::string_view mode) {
  Forward f{prepare(mode, points_3d, points_features, volume_densities, volume_features, "volume_densities",
                    "volume_features", grid_sizes, mask),
            {}, {}, true};
  f.dens = at::empty(volume_densities.sizes(), f.c.acc_opts).copy_(volume_densities);
  f.feat = at::empty(volume_features.sizes(), f.c.acc_opts).copy_(volume_features);
  if (f.c.empty()) return f;
  if (use_deterministic_path(points_3d)) {
    splat_deterministic(points_3d, points_features, grid_sizes, mask, point_weight, align_corners, f.c.trilinear,
                        f.dens, f.feat);
    return f;
  }
  f.done = false;
  return f;
}

// The backward's gradients w.r.t. the points (N, P, 3) and their features (N, P, C), zero-initialised in the
// accumulation dtype; result() gives them in the inputs' dtype.
struct PointGrads {
  at::Tensor pts, feat;
  at::ScalarType dt;
  std::tuple<at::Tensor, at::Tensor> result() const { return {pts.to(dt), feat.to(dt)}; }
};

inline PointGrads zero_point_grads(const Call& c) {
  return {at::zeros({c.N, c.P, 3}, c.acc_opts), at::zeros({c.N, c.P, c.C}, c.acc_opts), c.dt};
}

}  // namespace points_to_volumes
}  // namespace mg
