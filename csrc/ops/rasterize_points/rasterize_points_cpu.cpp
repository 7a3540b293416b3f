// CPU kernels for rasterize_points (contract in rasterize_points.h): parallel over the pixel tiles of all
// images; each pixel walks its tile's depth-ordered list. Backward: per-thread gradient buffers, summed.
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/full.h>
#include <ATen/ops/zeros.h>
#include <torch/library.h>

#include "../../common/cpu_pool.h"

#include <algorithm>
#include <tuple>
#include <vector>

#include "../../common/cpu_scatter.h"
#include "../../common/dispatch.h"
#include "rasterize_points.h"

namespace mg {
namespace raster {
namespace {

std::tuple<at::Tensor, at::Tensor, at::Tensor> rasterize_points_cpu(const at::Tensor& points,
                                                                    const at::Tensor& cloud_first,
                                                                    const at::Tensor& cloud_size,
                                                                    const at::Tensor& radius, int64_t H, int64_t W,
                                                                    int64_t K, std::optional<int64_t> bin_size) {
  check_point_inputs(points, cloud_first, cloud_size, radius, H, W, K, bin_size);
  const int64_t N = cloud_first.size(0);
  // outputs written in the accumulation dtype (float32 for float16 / bfloat16) and converted at the end; large
  // outputs come warm from the reuse pool (csrc/common/cpu_pool.h)
  const auto dt = points.scalar_type();
  const auto acc_opts = points.options().dtype(at::toOpMathType(dt));
  auto idx = cpu::pooled_empty({N, H, W, K}, points.options().dtype(at::kLong)).fill_(-1);
  auto zbuf = cpu::pooled_empty({N, H, W, K}, acc_opts).fill_(-1);
  auto dists = cpu::pooled_empty({N, H, W, K}, acc_opts).fill_(-1);
  if (N == 0 || points.size(0) == 0) return {idx, zbuf.to(dt), dists.to(dt)};
  const auto pts = points.contiguous();
  const auto rad = radius.contiguous();
  const Bins b = build_point_bins(pts, cloud_first, cloud_size, rad, H, W, bin_size);
  const int64_t T = b.bin_size, tiles = b.tiles_x * b.tiles_y;
  const int64_t* start = b.bin_start.const_data_ptr<int64_t>();
  const int64_t* items = b.bin_items.const_data_ptr<int64_t>();
  MG_DISPATCH_FLOATING_TYPES(pts.scalar_type(), "rasterize_points_cpu", [&] {
    using acc_t = mg::acc_t<scalar_t>;
    const scalar_t* pp = pts.const_data_ptr<scalar_t>();
    const scalar_t* rp = rad.const_data_ptr<scalar_t>();
    int64_t* ip = idx.mutable_data_ptr<int64_t>();
    acc_t* zp = zbuf.mutable_data_ptr<acc_t>();
    acc_t* dp = dists.mutable_data_ptr<acc_t>();
    at::parallel_for(0, N * tiles, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t t = lo; t < hi; ++t) {
        const int64_t begin = start[t], end = start[t + 1];
        if (begin == end) continue;
        const int64_t n = t / tiles, tile = t - n * tiles;
        const int64_t ty = tile / b.tiles_x, tx = tile - ty * b.tiles_x;
        for (int64_t y = ty * T; y < std::min(H, (ty + 1) * T); ++y) {
          const acc_t yf = pixel_ndc<acc_t>(H - 1 - y, H, W);
          for (int64_t x = tx * T; x < std::min(W, (tx + 1) * T); ++x) {
            const acc_t xf = pixel_ndc<acc_t>(W - 1 - x, W, H);
            const int64_t o = ((n * H + y) * W + x) * K;
            raster_point_pixel<scalar_t, acc_t>(pp, rp, items, begin, end, xf, yf, K, ip + o, zp + o, dp + o);
          }
        }
      }
    });
  });
  return {idx, zbuf.to(dt), dists.to(dt)};  // no copy for float32 / float64
}

at::Tensor rasterize_points_backward_cpu(const at::Tensor& points, const at::Tensor& idx, const at::Tensor& grad_zbuf,
                                         const at::Tensor& grad_dists) {
  check_point_backward_inputs(points, idx, grad_zbuf, grad_dists);
  if (use_deterministic_path(points)) return point_grads_deterministic(points, idx, grad_zbuf, grad_dists);
  const int64_t P = points.size(0), N = idx.size(0), H = idx.size(1), W = idx.size(2), K = idx.size(3);
  auto grad = at::zeros({P, 3}, points.options());
  const int64_t pixels = N * H * W;
  if (P == 0 || pixels == 0 || K == 0) return grad;
  const auto pts = points.contiguous();
  const auto id = idx.contiguous();
  const auto acc = at::toOpMathType(points.scalar_type());  // grads read and summed in it
  const auto gz = grad_zbuf.to(acc).contiguous();
  const auto gd = grad_dists.to(acc).contiguous();
  MG_DISPATCH_FLOATING_TYPES(pts.scalar_type(), "rasterize_points_backward_cpu", [&] {
    using acc_t = mg::acc_t<scalar_t>;
    const scalar_t* pp = pts.const_data_ptr<scalar_t>();
    const int64_t* ip = id.const_data_ptr<int64_t>();
    const acc_t* gzp = gz.const_data_ptr<acc_t>();
    const acc_t* gdp = gd.const_data_ptr<acc_t>();
    chunked_scatter_add<acc_t>(pixels, P, 3, grad.mutable_data_ptr<scalar_t>(), [&](int64_t pix, acc_t* g) {
      const int64_t x = pix % W, y = (pix / W) % H;
      const acc_t xf = pixel_ndc<acc_t>(W - 1 - x, W, H), yf = pixel_ndc<acc_t>(H - 1 - y, H, W);
      for (int64_t k = 0; k < K; ++k) {
        const int64_t s = pix * K + k;
        const int64_t p = ip[s];
        if (p < 0 || p >= P) continue;
        const acc_t gdist = gdp[s];
        g[3 * p] += acc_t(2) * (static_cast<acc_t>(pp[3 * p]) - xf) * gdist;
        g[3 * p + 1] += acc_t(2) * (static_cast<acc_t>(pp[3 * p + 1]) - yf) * gdist;
        g[3 * p + 2] += gzp[s];
      }
    });
  });
  return grad;
}

}  // namespace
}  // namespace raster
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CPU, m) {
  m.impl("rasterize_points", &mg::raster::rasterize_points_cpu);
  m.impl("rasterize_points_backward", &mg::raster::rasterize_points_backward_cpu);
}
