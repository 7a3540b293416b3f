// CUDA kernels for rasterize_points (contract in rasterize_points.h): the tiles come from the shared ATen
// binning; one thread per pixel walks its tile's depth-ordered list. Backward: one thread per pixel slot,
// atomicAdd into the point gradients, or the deterministic ATen reduction (determinism.h).
#include <ATen/OpMathType.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/full.h>
#include <ATen/ops/zeros.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include <tuple>

#include "../../common/cuda_utils.cuh"
#include "../../common/dispatch.h"
#include "rasterize_points.h"

namespace mg {
namespace raster {
namespace {

// Points and radii are read in their dtype (scalar_t); tests, outputs and gradients are in acc_t.
template <typename scalar_t, typename acc_t>
__global__ void rasterize_points_kernel(const scalar_t* __restrict__ pts, const scalar_t* __restrict__ rad,
                                        const int64_t* __restrict__ start, const int64_t* __restrict__ items,
                                        int64_t N, int64_t H, int64_t W, int64_t K, int64_t T, int64_t tiles_x,
                                        int64_t tiles_y, int64_t* idx, acc_t* zbuf, acc_t* dists) {
  MG_CUDA_KERNEL_LOOP(pix, N * H * W) {
    const int64_t x = pix % W, y = (pix / W) % H, n = pix / (H * W);
    const int64_t t = (n * tiles_y + y / T) * tiles_x + x / T;
    const acc_t xf = pixel_ndc<acc_t>(W - 1 - x, W, H), yf = pixel_ndc<acc_t>(H - 1 - y, H, W);
    raster_point_pixel<scalar_t, acc_t>(pts, rad, items, start[t], start[t + 1], xf, yf, K, idx + pix * K,
                                        zbuf + pix * K, dists + pix * K);
  }
}

template <typename scalar_t, typename acc_t>
__global__ void rasterize_points_backward_kernel(const scalar_t* __restrict__ pts, const int64_t* __restrict__ idx,
                                                 const acc_t* __restrict__ gz, const acc_t* __restrict__ gd,
                                                 int64_t P, int64_t N, int64_t H, int64_t W, int64_t K,
                                                 acc_t* grad) {
  MG_CUDA_KERNEL_LOOP(s, N * H * W * K) {
    const int64_t p = idx[s];
    if (p < 0 || p >= P) continue;
    const int64_t pix = s / K;
    const int64_t x = pix % W, y = (pix / W) % H;
    const acc_t xf = pixel_ndc<acc_t>(W - 1 - x, W, H), yf = pixel_ndc<acc_t>(H - 1 - y, H, W);
    atomicAdd(grad + 3 * p, acc_t(2) * (static_cast<acc_t>(pts[3 * p]) - xf) * gd[s]);
    atomicAdd(grad + 3 * p + 1, acc_t(2) * (static_cast<acc_t>(pts[3 * p + 1]) - yf) * gd[s]);
    atomicAdd(grad + 3 * p + 2, gz[s]);
  }
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> rasterize_points_cuda(const at::Tensor& points,
                                                                     const at::Tensor& cloud_first,
                                                                     const at::Tensor& cloud_size,
                                                                     const at::Tensor& radius, int64_t H, int64_t W,
                                                                     int64_t K, std::optional<int64_t> bin_size) {
  check_point_inputs(points, cloud_first, cloud_size, radius, H, W, K, bin_size);
  const c10::cuda::CUDAGuard guard(points.device());
  const int64_t N = cloud_first.size(0);
  // outputs written in the accumulation dtype (float32 for float16 / bfloat16), converted at the end
  const auto dt = points.scalar_type();
  const auto acc_opts = points.options().dtype(at::toOpMathType(dt));
  auto idx = at::full({N, H, W, K}, -1, points.options().dtype(at::kLong));
  auto zbuf = at::full({N, H, W, K}, -1, acc_opts);
  auto dists = at::full({N, H, W, K}, -1, acc_opts);
  if (N > 0 && points.size(0) > 0) {
    const auto pts = points.contiguous();
    const auto rad = radius.contiguous();
    const Bins b = build_point_bins(pts, cloud_first, cloud_size, rad, H, W, bin_size);
    MG_DISPATCH_FLOATING_TYPES(dt, "rasterize_points_cuda", [&] {
      using acc_t = mg::acc_t<scalar_t>;
      rasterize_points_kernel<scalar_t, acc_t><<<cuda::num_blocks(N * H * W), cuda::kThreads, 0,
                                                 c10::cuda::getCurrentCUDAStream()>>>(
          pts.const_data_ptr<scalar_t>(), rad.const_data_ptr<scalar_t>(), b.bin_start.const_data_ptr<int64_t>(),
          b.bin_items.const_data_ptr<int64_t>(), N, H, W, K, b.bin_size, b.tiles_x, b.tiles_y,
          idx.mutable_data_ptr<int64_t>(), zbuf.mutable_data_ptr<acc_t>(), dists.mutable_data_ptr<acc_t>());
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  }
  return {idx, zbuf.to(dt), dists.to(dt)};  // no copy for float32 / float64
}

at::Tensor rasterize_points_backward_cuda(const at::Tensor& points, const at::Tensor& idx,
                                          const at::Tensor& grad_zbuf, const at::Tensor& grad_dists) {
  check_point_backward_inputs(points, idx, grad_zbuf, grad_dists);
  const c10::cuda::CUDAGuard guard(points.device());
  if (use_deterministic_path(points)) return point_grads_deterministic(points, idx, grad_zbuf, grad_dists);
  const int64_t P = points.size(0), N = idx.size(0), H = idx.size(1), W = idx.size(2), K = idx.size(3);
  if (P == 0 || idx.numel() == 0) return at::zeros({P, 3}, points.options());
  // grads read and summed in the accumulation dtype (float32 for the half types), converted at the end
  const auto acc = at::toOpMathType(points.scalar_type());
  auto grad = at::zeros({P, 3}, points.options().dtype(acc));
  const auto pts = points.contiguous();
  const auto id = idx.contiguous();
  const auto gz = grad_zbuf.to(acc).contiguous();
  const auto gd = grad_dists.to(acc).contiguous();
  alert_atomic_reduction("rasterize_points_backward_cuda");
  MG_DISPATCH_FLOATING_TYPES(pts.scalar_type(), "rasterize_points_backward_cuda", [&] {
    using acc_t = mg::acc_t<scalar_t>;
    rasterize_points_backward_kernel<scalar_t, acc_t><<<cuda::num_blocks(idx.numel()), cuda::kThreads, 0,
                                                        c10::cuda::getCurrentCUDAStream()>>>(
        pts.const_data_ptr<scalar_t>(), id.const_data_ptr<int64_t>(), gz.const_data_ptr<acc_t>(),
        gd.const_data_ptr<acc_t>(), P, N, H, W, K, grad.mutable_data_ptr<acc_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return grad.to(points.scalar_type());
}

}  // namespace
}  // namespace raster
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CUDA, m) {
  m.impl("rasterize_points", &mg::raster::rasterize_points_cuda);
  m.impl("rasterize_points_backward", &mg::raster::rasterize_points_backward_cuda);
}
