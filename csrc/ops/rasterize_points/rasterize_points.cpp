// Schemas for rasterize_points and its backward, and the pixel tiles both backends walk (contract in
// rasterize_points.h). The binning is written with ATen ops so that CPU and CUDA share it.
#include <ATen/ATen.h>
#include <ATen/OpMathType.h>
#include <torch/library.h>

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <vector>

#include "rasterize_points.h"

#include "../../common/checks.h"

TORCH_LIBRARY_FRAGMENT(meshgraph, m) {
  m.def(
      "rasterize_points(Tensor points, Tensor cloud_first, Tensor cloud_size, Tensor radius, SymInt image_height, "
      "SymInt image_width, SymInt K, int? bin_size) -> (Tensor, Tensor, Tensor)",
      {at::Tag::pt2_compliant_tag});
  m.def("rasterize_points_backward(Tensor points, Tensor idx, Tensor grad_zbuf, Tensor grad_dists) -> Tensor",
        {at::Tag::pt2_compliant_tag});
}

namespace mg {
namespace raster {

// Devices, dtypes and shapes of every argument; on CPU also every cloud's [first, first + size) within the packed
// points (checks.h). On CUDA the binning drops out-of-range items (image_of_items), so no kernel reads past P.
void check_point_inputs(const at::Tensor& points, const at::Tensor& cloud_first, const at::Tensor& cloud_size,
                        const at::Tensor& radius, int64_t H, int64_t W, int64_t K, std::optional<int64_t> bin_size) {
  TORCH_CHECK(points.dim() == 2 && points.size(1) == 3, "points must be (P, 3), got ", points.sizes());
  MG_CHECK_FLOATING(points);
  TORCH_CHECK(radius.dim() == 1 && radius.size(0) == points.size(0), "radius must be (P,)");
  TORCH_CHECK(radius.scalar_type() == points.scalar_type(), "radius must have the dtype of points");
  MG_CHECK_SAME_DEVICE(points, radius);
  TORCH_CHECK(cloud_first.dim() == 1, "cloud_first must be (N,)");
  check_ranges(cloud_first, cloud_size, cloud_first.size(0), points.size(0), points, "cloud_first", "cloud_size",
               /*disjoint=*/true);
  TORCH_CHECK(H > 0 && W > 0, "image size must be positive, got ", H, " x ", W);
  TORCH_CHECK(K > 0, "K must be positive, got ", K);
  check_bin_size(bin_size);
}

// Image index of every packed item (-1 for items in no image), from each image's [first, first + size) range.
// The ranges are ordered and disjoint (checks.h, check_ranges(disjoint=true), on CPU tensors), so the image of
// item p is the last one starting at or before p, if p lies inside it: a binary search, with no device sync.
// Each range is clamped into [0, num_items) first and the hit is tested against both ends: a malformed first /
// size on CUDA gives unspecified images, never an index outside [0, N).
at::Tensor image_of_items(const at::Tensor& first, const at::Tensor& size, int64_t num_items) {
  const int64_t N = first.size(0);
  if (N == 0 || num_items == 0) return at::full({num_items}, -1, first.options());
  const auto lo = first.clamp(0, num_items).contiguous();
  const auto hi = at::minimum(lo + size.clamp(0, num_items), at::full_like(lo, num_items));
  const auto items = at::arange(num_items, first.options());
  const auto cand = (at::searchsorted(lo, items, /*out_int32=*/false, /*right=*/true) - 1).clamp_(0, N - 1);
  const auto inside = (items >= lo.index_select(0, cand)).logical_and_(items < hi.index_select(0, cand));
  return at::where(inside, cand, -1);
}

namespace {

// Tile side from the bin_size argument: 0 (or more than the image) is one tile per image.
int64_t tile_side(int64_t bin_size, int64_t H, int64_t W) {
  return bin_size <= 0 || bin_size > std::max(H, W) ? std::max(H, W) : bin_size;
}

struct Footprint {  // each item's first tile and its extent in tiles (0 x 0 for items not drawn)
  at::Tensor tx0, ty0, tw, th;
};

Footprint footprint(const at::Tensor& box, const at::Tensor& drawn, int64_t T) {
  const auto x0 = box.select(1, 0), x1 = box.select(1, 1), y0 = box.select(1, 2), y1 = box.select(1, 3);
  Footprint fp;
  fp.tx0 = at::div(x0, T, "floor");
  fp.ty0 = at::div(y0, T, "floor");
  fp.tw = at::where(drawn, at::div(x1, T, "floor") - fp.tx0 + 1, 0);
  fp.th = at::where(drawn, at::div(y1, T, "floor") - fp.ty0 + 1, 0);
  return fp;
}

Bins bins_with_total(const at::Tensor& box, const at::Tensor& image_of_item, const at::Tensor& order, int64_t N,
                     int64_t H, int64_t W, int64_t T, const Footprint& fp, int64_t total) {
  Bins b;
  b.bin_size = T;
  b.tiles_x = (W + T - 1) / T;
  b.tiles_y = (H + T - 1) / T;
  const int64_t tiles = b.tiles_x * b.tiles_y;
  const auto opts = box.options().dtype(at::kLong);
  b.bin_start = at::zeros({N * tiles + 1}, opts);
  if (total == 0) {
    b.bin_items = at::empty({0}, opts);
    return b;
  }
  const auto count = (fp.tw * fp.th).index_select(0, order);
  const auto rep = at::repeat_interleave(order, count, 0, total);          // item of each (item, tile) pair
  const auto seg = at::repeat_interleave(count.cumsum(0) - count, count, 0, total);
  const auto j = at::arange(total, opts) - seg;                           // pair's rank among its item's tiles
  const auto w = fp.tw.index_select(0, rep);
  const auto bin = image_of_item.index_select(0, rep) * tiles +
                   (fp.ty0.index_select(0, rep) + at::div(j, w, "floor")) * b.tiles_x + fp.tx0.index_select(0, rep) +
                   at::remainder(j, w);
  const auto sorted = at::sort(bin, /*stable=*/true, /*dim=*/0, /*descending=*/false);
  b.bin_items = rep.index_select(0, std::get<1>(sorted));
  b.bin_start.narrow(0, 1, N * tiles).copy_(at::bincount(bin, {}, N * tiles).cumsum(0));
  return b;
}

}  // namespace

Bins bins_from_boxes(const at::Tensor& box, const at::Tensor& image_of_item, const at::Tensor& order, int64_t N,
                     int64_t H, int64_t W, std::optional<int64_t> bin_size, const AutoBin& autobin) {
  const auto drawn = (box.select(1, 0) <= box.select(1, 1))
                         .logical_and_(box.select(1, 2) <= box.select(1, 3))
                         .logical_and_(image_of_item >= 0);
  // The candidate tile sides: the given one, or every power of two the auto choice may make. Their pair counts,
  // and for the auto choice the drawn items' count and summed extent, come to the host in ONE read: the only
  // device sync of the binning (the pair count sizes the tile lists).
  std::vector<int64_t> sides;
  if (bin_size.has_value()) {
    sides.push_back(tile_side(*bin_size, H, W));
  } else {
    for (int64_t T = autobin.lo; T <= autobin.hi; T *= 2) sides.push_back(T);
  }
  std::vector<at::Tensor> stats;
  const auto dopts = box.options().dtype(at::kDouble);
  if (!bin_size.has_value()) {
    stats.push_back(drawn.sum().to(at::kDouble));
    stats.push_back(at::where(drawn, autobin.extent.to(at::kDouble), 0.0).sum());
  }
  for (const int64_t T : sides) {  // only the count is kept: the chosen side's footprint is rebuilt below
    const Footprint fp = footprint(box, drawn, T);
    stats.push_back(box.size(0) == 0 ? at::zeros({}, dopts) : (fp.tw * fp.th).sum().to(at::kDouble));
  }
  const auto host = at::stack(stats).cpu();
  const double* hp = host.const_data_ptr<double>();
  size_t pick = 0;
  if (!bin_size.has_value()) {
    const double nd = hp[0], mean = nd > 0 ? hp[1] / nd : 0.0;
    const int64_t T = auto_bin_size(mean * autobin.scale, autobin.lo, autobin.hi);
    while (pick + 1 < sides.size() && sides[pick] < T) ++pick;
  }
  const double total = hp[(bin_size.has_value() ? 0 : 2) + pick];
  return bins_with_total(box, image_of_item, order, N, H, W, sides[pick], footprint(box, drawn, sides[pick]),
                         static_cast<int64_t>(total));
}

// Inclusive pixel-index range along an axis of S pixels (other axis S2) whose centres may lie within
// [c - r, c + r]; one pixel of margin absorbs rounding (the kernels test each pixel exactly). Returns the
// range in image order (index i along the axis is pixel S - 1 - i: NDC +x is left, +y is up).
std::pair<at::Tensor, at::Tensor> pixel_range(const at::Tensor& c, const at::Tensor& r, int64_t S, int64_t S2) {
  const double range = S > S2 ? 2.0 * static_cast<double>(S) / static_cast<double>(S2) : 2.0;
  const auto to_idx = [&](const at::Tensor& v) { return (v + range / 2) * (static_cast<double>(S) / range) - 0.5; };
  const auto lo = at::floor(to_idx(c - r)).clamp(-2, static_cast<double>(S) + 1) - 1;
  const auto hi = at::ceil(to_idx(c + r)).clamp(-2, static_cast<double>(S) + 1) + 1;
  // image order: i -> S - 1 - i swaps the ends
  const auto first = (static_cast<double>(S - 1) - hi).clamp_min(0).to(at::kLong);
  const auto last = (static_cast<double>(S - 1) - lo).clamp_max(static_cast<double>(S - 1)).to(at::kLong);
  return {first, last};
}

void pixel_range_scalar(double c, double r, int64_t S, int64_t S2, int64_t& first, int64_t& last) {
  const double range = S > S2 ? 2.0 * static_cast<double>(S) / static_cast<double>(S2) : 2.0;
  const auto to_idx = [&](double v) { return (v + range / 2) * (static_cast<double>(S) / range) - 0.5; };
  const double hi_lim = static_cast<double>(S) + 1;
  const double lo = std::min(std::max(std::floor(to_idx(c - r)), -2.0), hi_lim) - 1;
  const double hi = std::min(std::max(std::ceil(to_idx(c + r)), -2.0), hi_lim) + 1;
  first = static_cast<int64_t>(std::max(static_cast<double>(S - 1) - hi, 0.0));
  last = static_cast<int64_t>(std::min(static_cast<double>(S - 1) - lo, static_cast<double>(S - 1)));
}

Bins bins_from_boxes_cpu(const std::vector<int64_t>& box, const std::vector<int64_t>& img,
                         const std::vector<double>& key, int64_t N, int64_t H, int64_t W, int64_t bin_size) {
  Bins b;
  const int64_t T = bin_size <= 0 || bin_size > std::max(H, W) ? std::max(H, W) : bin_size;
  b.bin_size = T;
  b.tiles_x = (W + T - 1) / T;
  b.tiles_y = (H + T - 1) / T;
  const int64_t tiles = b.tiles_x * b.tiles_y, M = static_cast<int64_t>(img.size()), B = N * tiles;
  const auto opts = at::TensorOptions().dtype(at::kLong);
  b.bin_start = at::zeros({B + 1}, opts);
  int64_t* start = b.bin_start.mutable_data_ptr<int64_t>();
  const auto each_bin = [&](int64_t m, auto&& fn) {
    if (img[m] < 0 || box[4 * m] > box[4 * m + 1] || box[4 * m + 2] > box[4 * m + 3]) return;
    const int64_t base = img[m] * tiles;
    for (int64_t ty = box[4 * m + 2] / T; ty <= box[4 * m + 3] / T; ++ty)
      for (int64_t tx = box[4 * m] / T; tx <= box[4 * m + 1] / T; ++tx) fn(base + ty * b.tiles_x + tx);
  };
  for (int64_t m = 0; m < M; ++m) each_bin(m, [&](int64_t bin) { ++start[bin + 1]; });
  for (int64_t i = 0; i < B; ++i) start[i + 1] += start[i];
  b.bin_items = at::empty({start[B]}, opts);
  int64_t* items = b.bin_items.mutable_data_ptr<int64_t>();
  std::vector<int64_t> cursor(start, start + B);
  for (int64_t m = 0; m < M; ++m) each_bin(m, [&](int64_t bin) { items[cursor[bin]++] = m; });
  // each tile's list in key order; stable, so equal keys keep index order
  at::parallel_for(0, B, 16, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i)
      std::stable_sort(items + start[i], items + start[i + 1], [&](int64_t a, int64_t c) { return key[a] < key[c]; });
  });
  return b;
}

at::Tensor point_grads_deterministic(const at::Tensor& points, const at::Tensor& idx, const at::Tensor& grad_zbuf,
                                     const at::Tensor& grad_dists) {
  const int64_t P = points.size(0), H = idx.size(1), W = idx.size(2);
  if (P == 0 || idx.numel() == 0) return at::zeros({P, 3}, points.options());
  // everything in the kernels' accumulation dtype (float32 for the half types), converted at the end
  const auto acc = at::toOpMathType(points.scalar_type());
  auto grad = at::zeros({P, 3}, points.options().dtype(acc));
  // Pixel centres exactly as the kernels compute them (pixel_ndc in the accumulation dtype), built on the host.
  at::Tensor xf, yf;
  AT_DISPATCH_FLOATING_TYPES(acc, "rasterize_points_backward_deterministic", [&] {
    std::vector<scalar_t> xs(W), ys(H);
    for (int64_t x = 0; x < W; ++x) xs[x] = pixel_ndc<scalar_t>(W - 1 - x, W, H);
    for (int64_t y = 0; y < H; ++y) ys[y] = pixel_ndc<scalar_t>(H - 1 - y, H, W);
    const auto host = at::TensorOptions().dtype(acc);
    xf = at::tensor(at::ArrayRef<scalar_t>(xs), host).to(points.device()).view({1, 1, W, 1});
    yf = at::tensor(at::ArrayRef<scalar_t>(ys), host).to(points.device()).view({1, H, 1, 1});
  });
  // Invalid slots (idx outside [0, P)) add a zero row to point 0: no mask, no device sync.
  const auto valid = (idx >= 0).logical_and_(idx < P);
  const auto p = idx.clamp(0, P - 1);
  const auto gd = grad_dists.to(acc), gz = grad_zbuf.to(acc);
  const auto pts = points.to(acc);
  const auto px = pts.select(1, 0).index({p}), py = pts.select(1, 1).index({p});
  // the kernel's per-slot terms, in its order of operations; exact zeros for invalid slots (point 0 may be NaN)
  const auto contrib =
      at::where(valid.unsqueeze(-1), at::stack({(px - xf) * 2 * gd, (py - yf) * 2 * gd, gz}, -1), 0);  // (N, H, W, K, 3)
  grad.index_put_({p.reshape({-1})}, contrib.reshape({-1, 3}), /*accumulate=*/true);
  return grad.to(points.scalar_type());
}

int64_t auto_bin_size(double mean_extent_px, int64_t lo, int64_t hi) {
  int64_t T = lo;
  while (T < hi && static_cast<double>(T) < 2.0 * mean_extent_px) T *= 2;
  return T;
}

// CPU: the same tiles as below, built with plain loops (no ATen temporaries over the points).
static Bins build_point_bins_cpu(const at::Tensor& points, const at::Tensor& cloud_first, const at::Tensor& cloud_size,
                                 const at::Tensor& radius, int64_t H, int64_t W, std::optional<int64_t> bin_size) {
  const int64_t P = points.size(0), N = cloud_first.size(0);
  const auto pts = points.to(at::kDouble).contiguous();
  const auto rad = radius.to(at::kDouble).contiguous();
  const double* pp = pts.const_data_ptr<double>();
  const double* rp = rad.const_data_ptr<double>();
  const auto img_t = image_of_items(cloud_first, cloud_size, P).contiguous();
  std::vector<int64_t> img(img_t.const_data_ptr<int64_t>(), img_t.const_data_ptr<int64_t>() + P);
  std::vector<int64_t> box(4 * P);
  std::vector<double> key(P);
  at::parallel_for(0, P, 4096, [&](int64_t lo, int64_t hi) {
    for (int64_t p = lo; p < hi; ++p) {
      const double x = pp[3 * p], y = pp[3 * p + 1], z = pp[3 * p + 2], r = rp[p];
      key[p] = z;
      if (!(std::isfinite(x) && std::isfinite(y) && std::isfinite(z) && z >= 0 && std::isfinite(r) && r > 0)) {
        img[p] = -1;
        continue;
      }
      pixel_range_scalar(x, r, W, H, box[4 * p], box[4 * p + 1]);
      pixel_range_scalar(y, r, H, W, box[4 * p + 2], box[4 * p + 3]);
    }
  });
  int64_t T = bin_size.value_or(0);
  if (!bin_size.has_value()) {
    double sum = 0;
    int64_t nd = 0;
    for (int64_t p = 0; p < P; ++p)
      if (img[p] >= 0) {
        sum += rp[p];
        ++nd;
      }
    T = auto_bin_size(nd > 0 ? sum / static_cast<double>(nd) * static_cast<double>(std::min(H, W)) : 0.0, 4, 256);
  }
  return bins_from_boxes_cpu(box, img, key, N, H, W, T);
}

Bins build_point_bins(const at::Tensor& points, const at::Tensor& cloud_first, const at::Tensor& cloud_size,
                      const at::Tensor& radius, int64_t H, int64_t W, std::optional<int64_t> bin_size) {
  if (points.device().is_cpu() && !device_path_forced())
    return build_point_bins_cpu(points, cloud_first, cloud_size, radius, H, W, bin_size);
  const int64_t P = points.size(0), N = cloud_first.size(0);
  const auto pts = points.to(at::kDouble);
  const auto rad = radius.to(at::kDouble);
  const auto x = pts.select(1, 0), y = pts.select(1, 1), z = pts.select(1, 2);
  const auto ok = at::isfinite(x).logical_and_(at::isfinite(y)).logical_and_(at::isfinite(z)).logical_and_(z >= 0)
                      .logical_and_(at::isfinite(rad)).logical_and_(rad > 0);
  auto img = image_of_items(cloud_first, cloud_size, P);
  img = at::where(ok, img, -1);
  const auto safe_r = at::where(ok, rad, 0.0);
  const auto [x0, x1] = pixel_range(at::where(ok, x, 0.0), safe_r, W, H);
  const auto [y0, y1] = pixel_range(at::where(ok, y, 0.0), safe_r, H, W);
  const auto box = at::stack({x0, x1, y0, y1}, 1);
  // bin_size > 0: tile side in pixels; None: tiles about twice the mean disk diameter in pixels (a power of two in
  // [4, 256]); 0: one tile per image (brute force)
  AutoBin autobin{rad, static_cast<double>(std::min(H, W)), 4, 256};
  const auto order = std::get<1>(at::sort(z, /*stable=*/true, /*dim=*/0, /*descending=*/false));
  return bins_from_boxes(box, img, order, N, H, W, bin_size, autobin);
}

}  // namespace raster
}  // namespace mg
