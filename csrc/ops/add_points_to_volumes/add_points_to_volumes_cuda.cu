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
    point_backward<scalar_t, acc_t>(pts + 3 * i, pf + C * i, gd + n * DHW, gv + n * C * DHW, gx, gy, gz, C, D, H, W,
                                    pw, align_corners, trilinear, gpts + 3 * i, gfeat + C * i);
  }
}

std::tuple<at::Tensor, at::Tensor> add_points_to_volumes_cuda(
    const at::Tensor& points_3d, const at::Tensor& points_features, const at::Tensor& volume_densities,
    const at::Tensor& volume_features, const at::Tensor& grid_sizes, const at::Tensor& mask, double point_weight,
    bool align_corners, c10::string_view mode) {
  const Forward fw = forward_prologue(points_3d, points_features, volume_densities, volume_features, grid_sizes, mask,
                                      point_weight, align_corners, mode);
  const c10::cuda::CUDAGuard guard(points_3d.device());
  const Call& c = fw.c;
  if (!fw.done) {
    alert_atomic_reduction("add_points_to_volumes_cuda");
    MG_DISPATCH_FLOATING_TYPES(c.dt, "add_points_to_volumes_cuda", [&] {
      using acc_t = mg::acc_t<scalar_t>;
      splat_kernel<scalar_t, acc_t>
          <<<cuda::num_blocks(c.N * c.P), cuda::kThreads, 0, c10::cuda::getCurrentCUDAStream()>>>(
              c.pts.const_data_ptr<scalar_t>(), c.pf.const_data_ptr<scalar_t>(), c.mk.const_data_ptr<scalar_t>(),
              c.gs.const_data_ptr<int64_t>(), c.N, c.P, c.C, c.D, c.H, c.W, static_cast<acc_t>(point_weight),
              align_corners, c.trilinear, fw.dens.mutable_data_ptr<acc_t>(), fw.feat.mutable_data_ptr<acc_t>());
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  }
  return {fw.dens.to(c.dt), fw.feat.to(c.dt)};
}

std::tuple<at::Tensor, at::Tensor> add_points_to_volumes_backward_cuda(
    const at::Tensor& grad_densities, const at::Tensor& grad_features, const at::Tensor& points_3d,
    const at::Tensor& points_features, const at::Tensor& grid_sizes, const at::Tensor& mask, double point_weight,
    bool align_corners, c10::string_view mode) {
  const Call c = prepare(mode, points_3d, points_features, grad_densities, grad_features, "grad_densities",
                         "grad_features", grid_sizes, mask);
  const c10::cuda::CUDAGuard guard(points_3d.device());
  const PointGrads grads = zero_point_grads(c);
  if (!c.empty()) {
    const auto gd = grad_densities.contiguous(), gv = grad_features.contiguous();
    MG_DISPATCH_FLOATING_TYPES(c.dt, "add_points_to_volumes_backward_cuda", [&] {
      using acc_t = mg::acc_t<scalar_t>;
      splat_backward_kernel<scalar_t, acc_t>
          <<<cuda::num_blocks(c.N * c.P), cuda::kThreads, 0, c10::cuda::getCurrentCUDAStream()>>>(
              gd.const_data_ptr<scalar_t>(), gv.const_data_ptr<scalar_t>(), c.pts.const_data_ptr<scalar_t>(),
              c.pf.const_data_ptr<scalar_t>(), c.mk.const_data_ptr<scalar_t>(), c.gs.const_data_ptr<int64_t>(), c.N,
              c.P, c.C, c.D, c.H, c.W, static_cast<acc_t>(point_weight), align_corners, c.trilinear,
              grads.pts.mutable_data_ptr<acc_t>(), grads.feat.mutable_data_ptr<acc_t>());
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  }
  return grads.result();
}

}  // namespace
}  // namespace points_to_volumes
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CUDA, m) {
  m.impl("add_points_to_volumes", &mg::points_to_volumes::add_points_to_volumes_cuda);
  m.impl("add_points_to_volumes_backward", &mg::points_to_volumes::add_points_to_volumes_backward_cuda);
}
