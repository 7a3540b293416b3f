// rasterize_points: each pixel's K nearest (in depth) points whose disk covers it (PyTorch3D semantics).
//
//   rasterize_points(points: (P, 3) packed, cloud_first: (N,) int64, cloud_size: (N,) int64, radius: (P,),
//                    H, W, K, bin_size: int? (None: chosen from the data; 0: one tile per image; > 0: the tile side))
//     -> idx (N, H, W, K) int64, zbuf (N, H, W, K), dists (N, H, W, K)
//     points are in NDC space (x left, y up; the shorter image side spans [-1, 1]) with z the view depth.
//     Pixel (y, x) has NDC centre (pixel_ndc(W - 1 - x, W, H), pixel_ndc(H - 1 - y, H, W)). Point p of cloud n
//     covers the pixel when (px - xf)^2 + (py - yf)^2 < radius[p]^2 and 0 <= pz (finite coordinates only).
//     The K covering points with the smallest (z, packed index) fill idx[n, y, x, :] in that order, zbuf holds
//     their z, dists the squared NDC distance; -1 pads all three.
//   rasterize_points_backward(points, idx, grad_zbuf, grad_dists) -> grad_points (P, 3)
//     d zbuf / d pz = 1, d dists / d (px, py) = 2 (p - pixel centre).
//   points (and radius) are float16, bfloat16, float32 or float64: the kernels compute in acc_t<scalar_t> (float32
//   for the half types), zbuf and dists come back in the points' dtype, gradients are summed in acc_t.
//
// Both backends bin first (build_point_bins, ATen code shared by CPU and CUDA): the image is cut into square
// tiles of `bin_size` pixels, every drawable point is listed in each tile its disk's pixel box touches, and
// every tile's list is in (z, index) order. A pixel then walks its tile's list and stops at the K-th hit. Lists
// are sized from the data (a counting pass), so no bin can overflow: the result is always the brute-force one.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/macros/Macros.h>

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "../../common/checks.h"
#include "../../common/determinism.h"

namespace mg {
namespace raster {

// NDC coordinate of the centre of pixel i along an axis of S1 pixels when the other axis has S2 pixels.
template <typename acc_t>
C10_HOST_DEVICE inline acc_t pixel_ndc(int64_t i, int64_t S1, int64_t S2) {
  const acc_t range = S1 > S2 ? acc_t(2) * static_cast<acc_t>(S1) / static_cast<acc_t>(S2) : acc_t(2);
  const acc_t offset = range / acc_t(2);
  return -offset + (range * static_cast<acc_t>(i) + offset) / static_cast<acc_t>(S1);
}

// Pixel tiles of one batch: the drawable items of tile t of image n are bin_items[bin_start[b] : bin_start[b+1]]
// with b = n * tiles_y * tiles_x + ty * tiles_x + tx (items are packed point or face indices).
struct Bins {
  int64_t bin_size = 0, tiles_x = 0, tiles_y = 0;
  at::Tensor bin_start;  // (N * tiles_y * tiles_x + 1,) int64
  at::Tensor bin_items;  // (total,) int64
  at::Tensor key;        // (items,) the per-item order key (faces: a lower bound of their depth), if any
  at::Tensor box;        // (items, 4) int64 pixel boxes x0 x1 y0 y1 the tiles were built from (faces), if kept
};

// How bin_size = None picks the tile side: auto_bin_size(mean of `extent` over the drawn items * scale, lo, hi)
// (lo and hi powers of two).
struct AutoBin {
  at::Tensor extent;  // (items,) per-item extent (NDC), read for drawn items only
  double scale = 1.0;
  int64_t lo = 8, hi = 128;
};

// Tiles from per-item pixel boxes [x0, x1] x [y0, y1] (inclusive pixel indices, x counted in the image's
// column order; x0 > x1 marks an item that is not drawn), the image each item belongs to, and the order items
// must take inside a tile (a permutation of all items: stable, so equal keys keep index order). bin_size is the
// tile side (0, or more than the image, gives one tile per image); None picks it from the data (`autobin`). One
// device sync: the (item, tile) pair count, read together with the auto choice's statistics.
Bins bins_from_boxes(const at::Tensor& box, const at::Tensor& image_of_item, const at::Tensor& order, int64_t N,
                     int64_t H, int64_t W, std::optional<int64_t> bin_size, const AutoBin& autobin);

// Image index of every packed item (-1 for items in no image), from each image's [first, first + size) range.
at::Tensor image_of_items(const at::Tensor& first, const at::Tensor& size, int64_t num_items);

// Inclusive pixel ranges (image order) along an axis of S pixels (other axis S2) whose centres may lie within
// [c - r, c + r] (float64 tensors), with one pixel of margin; first > last when none can.
std::pair<at::Tensor, at::Tensor> pixel_range(const at::Tensor& c, const at::Tensor& r, int64_t S, int64_t S2);

// Scalar pixel_range for one item (CPU builders).
void pixel_range_scalar(double c, double r, int64_t S, int64_t S2, int64_t& first, int64_t& last);

// CPU tiles from per-item boxes (4 per item: x0 x1 y0 y1), images (-1: not drawn) and order keys: a counting
// pass, a fill in index order, then each tile's list stably sorted by key (tiles in parallel).
Bins bins_from_boxes_cpu(const std::vector<int64_t>& box, const std::vector<int64_t>& img,
                         const std::vector<double>& key, int64_t N, int64_t H, int64_t W, int64_t bin_size);

// device_path_forced() (csrc/common/determinism.h): MESHGRAPH_DEVICE_PATH=1 makes CPU tensors take the CUDA
// kernels' algorithms (the ATen tile builders, the pixel-major mesh walk with its early exit).

// Tile side for a mean item extent in pixels: a power of two in [lo, hi] about twice the extent.
int64_t auto_bin_size(double mean_extent_px, int64_t lo, int64_t hi);

// The point tiles for rasterize_points (bin_size > 0: tile side in pixels; None: chosen from the mean radius;
// 0: one tile per image, the brute-force walk).
Bins build_point_bins(const at::Tensor& points, const at::Tensor& cloud_first, const at::Tensor& cloud_size,
                      const at::Tensor& radius, int64_t H, int64_t W, std::optional<int64_t> bin_size);

// The schemas' `int? bin_size`: None, or a tile side >= 0 (0: one tile per image).
inline void check_bin_size(std::optional<int64_t> bin_size) {
  TORCH_CHECK(!bin_size.has_value() || *bin_size >= 0, "bin_size must be None or >= 0, got ", *bin_size);
}

void check_point_inputs(const at::Tensor& points, const at::Tensor& cloud_first, const at::Tensor& cloud_size,
                        const at::Tensor& radius, int64_t H, int64_t W, int64_t K, std::optional<int64_t> bin_size);

// Devices, dtypes and shapes of every argument; idx values are not checked (slots outside [0, P) are skipped).
inline void check_point_backward_inputs(const at::Tensor& points, const at::Tensor& idx, const at::Tensor& grad_zbuf,
                                        const at::Tensor& grad_dists) {
  TORCH_CHECK(points.dim() == 2 && points.size(1) == 3, "points must be (P, 3)");
  MG_CHECK_FLOATING(points);
  TORCH_CHECK(idx.dim() == 4 && idx.scalar_type() == at::kLong, "idx must be (N, H, W, K) int64");
  TORCH_CHECK(grad_zbuf.sizes() == idx.sizes() && grad_dists.sizes() == idx.sizes(),
              "grad_zbuf and grad_dists must have the shape of idx");
  MG_CHECK_FLOATING(grad_zbuf);
  MG_CHECK_FLOATING(grad_dists);
  MG_CHECK_SAME_DEVICE(points, idx);
  MG_CHECK_SAME_DEVICE(points, grad_zbuf);
  MG_CHECK_SAME_DEVICE(points, grad_dists);
}

// rasterize_points_backward without atomics (ATen ops, any device): the kernels' per-slot terms summed with
// index_put_(accumulate=true), deterministic when PyTorch's deterministic algorithms are on (determinism.h).
at::Tensor point_grads_deterministic(const at::Tensor& points, const at::Tensor& idx, const at::Tensor& grad_zbuf,
                                     const at::Tensor& grad_dists);

// One pixel: walk a tile's (z, index)-ordered list, keep the first K points covering (xf, yf). Returns count.
// Points and radii are read in their dtype; the test and the outputs are in acc_t (the op converts them).
template <typename scalar_t, typename acc_t>
C10_HOST_DEVICE inline int64_t raster_point_pixel(const scalar_t* pts, const scalar_t* radius, const int64_t* items,
                                                  int64_t begin, int64_t end, acc_t xf, acc_t yf, int64_t K,
                                                  int64_t* idx, acc_t* zbuf, acc_t* dists) {
  int64_t found = 0;
  for (int64_t t = begin; t < end && found < K; ++t) {
    const int64_t p = items[t];
    const acc_t dx = static_cast<acc_t>(pts[3 * p]) - xf;
    const acc_t dy = static_cast<acc_t>(pts[3 * p + 1]) - yf;
    const acc_t d2 = dx * dx + dy * dy;
    const acc_t r = static_cast<acc_t>(radius[p]);
    if (d2 < r * r) {
      idx[found] = p;
      zbuf[found] = static_cast<acc_t>(pts[3 * p + 2]);
      dists[found] = d2;
      ++found;
    }
  }
  return found;
}

}  // namespace raster
}  // namespace mg
