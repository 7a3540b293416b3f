// CUDA kernels for add_points_to_volumes (contract in add_points_to_volumes.h): one thread per point. The forward
// adds its votes with atomicAdd into accumulation-dtype volumes (or, under deterministic algorithms, takes the
// ATen index_put_ reduction, splat_deterministic); the backward writes only its own point's gradients (no atomics).
// Grid sizes are clamped into [0, (D, H, W)] (not checked on CUDA: no device sync).
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include <tuple>

#include "../../common/cuda_utils.cuh"
#include "../../common/determinism.h"
#include "../../common/dispatch.h"
#include "../../common/index_math.h"
#include "add_points_to_volumes.h"

namespace mg {
namespace points_to_volumes {
namespace {

template <typename scalar_t, typename acc_t>
__global__ void splat_kernel(const scalar_t* __restrict__ pts, const scalar_t* __restrict__ pf,
                             const scalar_t* __restrict__ mask, const int64_t* __restrict__ gs, int64_t N, int64_t P,
                             int64_t C, int64_t D, int64_t H, int64_t W, acc_t pw, bool align_corners, bool trilinear,
                             acc_t* dens, acc_t* feat) {
  const int64_t HW = H * W, DHW = D * HW;
  MG_CUDA_KERNEL_LOOP(i, N * P) {
    if (static_cast<acc_t>(mask[i]) == acc_t(0)) continue;
    const int64_t n = i / P;
    const int64_t gz = clamp64(gs[3 * n], 0, D), gy = clamp64(gs[3 * n + 1], 0, H), gx = clamp64(gs[3 * n + 2], 0, W);
    const scalar_t* xyz = pts + 3 * i;
    const scalar_t* f = pf + C * i;
    acc_t* dn = dens + n * DHW;
    acc_t* vn = feat + n * C * DHW;
    for_each_vote<acc_t>(static_cast<acc_t>(xyz[0]), static_cast<acc_t>(xyz[1]), static_cast<acc_t>(xyz[2]), gx, gy,
                         gz, align_corners, trilinear,
                         [&](int64_t x, int64_t y, int64_t z, acc_t w, int, int, int, acc_t, acc_t, acc_t) {
                           const int64_t v = z * HW + y * W + x;
                           atomicAdd(dn + v, w * pw);
                           for (int64_t c = 0; c < C; ++c)
                             atomicAdd(vn + c * DHW + v, static_cast<acc_t>(f[c]) * w * pw);
                         });
  }
}

template <typename scalar_t, typename acc_t>
__global__ void splat_backward_kernel(const scalar_t* __restrict__ gd, const scalar_t* __restrict__ gv,
                                      const scalar_t* __restrict__ pts, const scalar_t* __restrict__ pf,
                                      const scalar_t* __restrict__ mask, const int64_t* __restrict__ gs, int64_t N,
                                      int64_t P, int64_t C, int64_t D, int64_t H, int64_t W, acc_t pw,
                                      bool align_corners, bool trilinear, acc_t* gpts, acc_t* gfeat) {
  const int64_t HW = H * W, DHW = D * HW;
  MG_CUDA_KERNEL_LOOP(i, N * P) {
    if (static_cast<acc_t>(mask[i]) == acc_t(0)) continue;
    const int64_t n = i / P;
    const int64_t gz = clamp64(gs[3 * n], 0, D), gy = clamp64(gs[3 * n + 1], 0, H), gx = clamp64(gs[3 * n + 2], 0, W);
    const scalar_t* xyz = pts + 3 * i;
    const scalar_t* f = pf + C * i;
    const scalar_t* gdn = gd + n * DHW;
    const scalar_t* gvn = gv + n * C * DHW;
    acc_t* gpi = gpts + 3 * i;
    acc_t* gfi = gfeat + C * i;
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
}

std::tuple<at::Tensor, at::Tensor> add_points_to_volumes_cuda(const at::Tensor& points_3d,
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
  const c10::cuda::CUDAGuard guard(points_3d.device());
  const auto dt = points_3d.scalar_type();
  const auto acc_opts = points_3d.options().dtype(at::toOpMathType(dt));
  auto dens = at::empty(volume_densities.sizes(), acc_opts).copy_(volume_densities);
  auto feat = at::empty(volume_features.sizes(), acc_opts).copy_(volume_features);
  if (N * P == 0 || D * H * W == 0) return {dens.to(dt), feat.to(dt)};
  if (use_deterministic_path(points_3d)) {
    splat_deterministic(points_3d, points_features, grid_sizes, mask, point_weight, align_corners, trilinear, dens,
                        feat);
    return {dens.to(dt), feat.to(dt)};
  }
  alert_atomic_reduction("add_points_to_volumes_cuda");
  const auto pts = points_3d.contiguous(), pf = points_features.contiguous(), mk = mask.contiguous();
  const auto gs = grid_sizes.contiguous();
  MG_DISPATCH_FLOATING_TYPES(dt, "add_points_to_volumes_cuda", [&] {
    using acc_t = mg::acc_t<scalar_t>;
    splat_kernel<scalar_t, acc_t><<<cuda::num_blocks(N * P), cuda::kThreads, 0, c10::cuda::getCurrentCUDAStream()>>>(
        pts.const_data_ptr<scalar_t>(), pf.const_data_ptr<scalar_t>(), mk.const_data_ptr<scalar_t>(),
        gs.const_data_ptr<int64_t>(), N, P, C, D, H, W, static_cast<acc_t>(point_weight), align_corners, trilinear,
        dens.mutable_data_ptr<acc_t>(), feat.mutable_data_ptr<acc_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return {dens.to(dt), feat.to(dt)};
}

std::tuple<at::Tensor, at::Tensor> add_points_to_volumes_backward_cuda(
    const at::Tensor& grad_densities, const at::Tensor& grad_features, const at::Tensor& points_3d,
    const at::Tensor& points_features, const at::Tensor& grid_sizes, const at::Tensor& mask, double point_weight,
    bool align_corners, c10::string_view mode) {
  const bool trilinear = is_trilinear(mode);
  check_volumes(points_3d, points_features, grad_densities, grad_features, "grad_densities", "grad_features");
  const int64_t N = points_3d.size(0), P = points_3d.size(1), C = points_features.size(2);
  const int64_t D = grad_densities.size(2), H = grad_densities.size(3), W = grad_densities.size(4);
  check_points(points_3d, points_features, grid_sizes, mask, D, H, W);
  const c10::cuda::CUDAGuard guard(points_3d.device());
  const auto dt = points_3d.scalar_type();
  const auto acc_opts = points_3d.options().dtype(at::toOpMathType(dt));
  auto gpts = at::zeros({N, P, 3}, acc_opts);
  auto gfeat = at::zeros({N, P, C}, acc_opts);
  if (N * P == 0 || D * H * W == 0) return {gpts.to(dt), gfeat.to(dt)};
  const auto pts = points_3d.contiguous(), pf = points_features.contiguous(), mk = mask.contiguous();
  const auto gs = grid_sizes.contiguous(), gd = grad_densities.contiguous(), gv = grad_features.contiguous();
  MG_DISPATCH_FLOATING_TYPES(dt, "add_points_to_volumes_backward_cuda", [&] {
    using acc_t = mg::acc_t<scalar_t>;
    splat_backward_kernel<scalar_t, acc_t>
        <<<cuda::num_blocks(N * P), cuda::kThreads, 0, c10::cuda::getCurrentCUDAStream()>>>(
            gd.const_data_ptr<scalar_t>(), gv.const_data_ptr<scalar_t>(), pts.const_data_ptr<scalar_t>(),
            pf.const_data_ptr<scalar_t>(), mk.const_data_ptr<scalar_t>(), gs.const_data_ptr<int64_t>(), N, P, C, D, H,
            W, static_cast<acc_t>(point_weight), align_corners, trilinear, gpts.mutable_data_ptr<acc_t>(),
            gfeat.mutable_data_ptr<acc_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return {gpts.to(dt), gfeat.to(dt)};
}

}  // namespace
}  // namespace points_to_volumes
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CUDA, m) {
  m.impl("add_points_to_volumes", &mg::points_to_volumes::add_points_to_volumes_cuda);
  m.impl("add_points_to_volumes_backward", &mg::points_to_volumes::add_points_to_volumes_backward_cuda);
}
