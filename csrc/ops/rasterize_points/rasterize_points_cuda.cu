// CUDA kernels for rasterize_points (contract in rasterize_points.h): the tiles come from the shared ATen
// binning; one thread per pixel walks its tile's depth-ordered list. Backward: one thread per pixel slot,
// atomicAdd into the point gradients, or the deterministic ATen reduction (determinism.h).
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

template <typename scalar_t>
__global__ void rasterize_points_kernel(const scalar_t* __restrict__ pts, const scalar_t* __restrict__ rad,
                                        const int64_t* __restrict__ start, const int64_t* __restrict__ items,
                                        int64_t N, int64_t H, int64_t W, int64_t K, int64_t T, int64_t tiles_x,
                                        int64_t tiles_y, int64_t* idx, scalar_t* zbuf, scalar_t* dists) {
  MG_CUDA_KERNEL_LOOP(pix, N * H * W) {
    const int64_t x = pix % W, y = (pix / W) % H, n = pix / (H * W);
    const int64_t t = (n * tiles_y + y / T) * tiles_x + x / T;
    const scalar_t xf = pixel_ndc<scalar_t>(W - 1 - x, W, H), yf = pixel_ndc<scalar_t>(H - 1 - y, H, W);
    raster_point_pixel<scalar_t, scalar_t>(pts, rad, items, start[t], start[t + 1], xf, yf, K, idx + pix * K,
                                           zbuf + pix * K, dists + pix * K);
  }
}

template <typename scalar_t>
__global__ void rasterize_points_backward_kernel(const scalar_t* __restrict__ pts, const int64_t* __restrict__ idx,
                                                 const scalar_t* __restrict__ gz, const scalar_t* __restrict__ gd,
                                                 int64_t P, int64_t N, int64_t H, int64_t W, int64_t K,
                                                 scalar_t* grad) {
  MG_CUDA_KERNEL_LOOP(s, N * H * W * K) {
    const int64_t p = idx[s];
    if (p < 0 || p >= P) continue;
    const int64_t pix = s / K;
    const int64_t x = pix % W, y = (pix / W) % H;
    const scalar_t xf = pixel_ndc<scalar_t>(W - 1 - x, W, H), yf = pixel_ndc<scalar_t>(H - 1 - y, H, W);
    atomicAdd(grad + 3 * p, scalar_t(2) * (pts[3 * p] - xf) * gd[s]);
    atomicAdd(grad + 3 * p + 1, scalar_t(2) * (pts[3 * p + 1] - yf) * gd[s]);
    atomicAdd(grad + 3 * p + 2, gz[s]);
  }
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> rasterize_points_cuda(const at::Tensor& points,
                                                                     const at::Tensor& cloud_first,
                                                                     const at::Tensor& cloud_size,
                                                                     const at::Tensor& radius, int64_t H, int64_t W,
                                                                     int64_t K, int64_t bin_size) {
  check_point_inputs(points, cloud_first, cloud_size, radius, H, W, K);
  const c10::cuda::CUDAGuard guard(points.device());
  const int64_t N = cloud_first.size(0);
  auto idx = at::full({N, H, W, K}, -1, points.options().dtype(at::kLong));
  auto zbuf = at::full({N, H, W, K}, -1, points.options());
  auto dists = at::full({N, H, W, K}, -1, points.options());
  if (N == 0 || points.size(0) == 0) return {idx, zbuf, dists};
  const auto pts = points.contiguous();
  const auto rad = radius.contiguous();
  const Bins b = build_point_bins(pts, cloud_first, cloud_size, rad, H, W, bin_size);
  AT_DISPATCH_FLOATING_TYPES(pts.scalar_type(), "rasterize_points_cuda", [&] {
    rasterize_points_kernel<scalar_t><<<cuda::num_blocks(N * H * W), cuda::kThreads, 0,
                                        c10::cuda::getCurrentCUDAStream()>>>(
        pts.const_data_ptr<scalar_t>(), rad.const_data_ptr<scalar_t>(), b.bin_start.const_data_ptr<int64_t>(),
        b.bin_items.const_data_ptr<int64_t>(), N, H, W, K, b.bin_size, b.tiles_x, b.tiles_y,
        idx.mutable_data_ptr<int64_t>(), zbuf.mutable_data_ptr<scalar_t>(), dists.mutable_data_ptr<scalar_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return {idx, zbuf, dists};
}

at::Tensor rasterize_points_backward_cuda(const at::Tensor& points, const at::Tensor& idx,
                                          const at::Tensor& grad_zbuf, const at::Tensor& grad_dists) {
  check_point_backward_inputs(points, idx, grad_zbuf, grad_dists);
  const c10::cuda::CUDAGuard guard(points.device());
  if (use_deterministic_path(points)) return point_grads_deterministic(points, idx, grad_zbuf, grad_dists);
  const int64_t P = points.size(0), N = idx.size(0), H = idx.size(1), W = idx.size(2), K = idx.size(3);
  auto grad = at::zeros({P, 3}, points.options());
  if (P == 0 || idx.numel() == 0) return grad;
  const auto pts = points.contiguous();
  const auto id = idx.contiguous();
  const auto gz = grad_zbuf.to(points.scalar_type()).contiguous();
  const auto gd = grad_dists.to(points.scalar_type()).contiguous();
  alert_atomic_reduction("rasterize_points_backward_cuda");
  AT_DISPATCH_FLOATING_TYPES(pts.scalar_type(), "rasterize_points_backward_cuda", [&] {
    rasterize_points_backward_kernel<scalar_t><<<cuda::num_blocks(idx.numel()), cuda::kThreads, 0,
                                                 c10::cuda::getCurrentCUDAStream()>>>(
        pts.const_data_ptr<scalar_t>(), id.const_data_ptr<int64_t>(), gz.const_data_ptr<scalar_t>(),
        gd.const_data_ptr<scalar_t>(), P, N, H, W, K, grad.mutable_data_ptr<scalar_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return grad;
}

}  // namespace
}  // namespace raster
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CUDA, m) {
  m.impl("rasterize_points", &mg::raster::rasterize_points_cuda);
  m.impl("rasterize_points_backward", &mg::raster::rasterize_points_backward_cuda);
}
