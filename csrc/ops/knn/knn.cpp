// Schema for knn_points_idx and the per-cloud grid both backends search (contract in knn.h).
#include <ATen/ATen.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "knn.h"

TORCH_LIBRARY_FRAGMENT(meshgraph, m) {
  // K is the outputs' last dim (SymInt); norm is the exponent of the distance, 1 or 2 (a number, checked)
  m.def(
      "knn_points_idx(Tensor p1, Tensor p2, Tensor lengths1, Tensor lengths2, SymInt K, int norm) -> (Tensor, Tensor)",
      {at::Tag::pt2_compliant_tag});
}

namespace mg {
namespace knn {

Grid build_grid(const at::Tensor& p2, const at::Tensor& lengths2, at::ScalarType acc_type, double per_cell) {
  const int64_t N = p2.size(0), P2 = p2.size(1), D = p2.size(2);
  TORCH_CHECK(D <= 3, "build_grid: D must be <= 3");
  TORCH_CHECK(P2 > 0, "build_grid: p2 must hold points (callers return early for P2 = 0)");
  auto opts = p2.options().dtype(acc_type);
  // Pad to 3 coordinates (missing ones are 0 for every point: a flat axis of one cell).
  at::Tensor pts = p2.to(acc_type);
  if (D < 3) pts = at::cat({pts, at::zeros({N, P2, 3 - D}, opts)}, 2);
  const auto lengths = lengths2.to(at::kLong).clamp(0, P2);
  const auto valid = at::arange(P2, lengths.options()).unsqueeze(0) < lengths.unsqueeze(1);  // (N, P2)
  const auto inf = std::numeric_limits<double>::infinity();
  const auto lo = at::where(valid.unsqueeze(2), pts, inf).amin(1);   // (N, 3)
  const auto hi = at::where(valid.unsqueeze(2), pts, -inf).amax(1);
  // Per-cloud parameters are tiny (N x 7): computed on the host, from one read (a device sync on CUDA; the grid's
  // size depends on them). The second and last read is the occupancy check below.
  const auto host = at::cat({lo.to(at::kDouble), hi.to(at::kDouble), lengths.to(at::kDouble).unsqueeze(1)}, 1).cpu();
  const double* hp = host.const_data_ptr<double>();
  std::vector<double> lo_h(3 * N), hi_h(3 * N);
  std::vector<int64_t> n_h(N);
  for (int64_t b = 0; b < N; ++b) {
    for (int a = 0; a < 3; ++a) {
      lo_h[3 * b + a] = hp[7 * b + a];
      hi_h[3 * b + a] = hp[7 * b + 3 + a];
    }
    n_h[b] = static_cast<int64_t>(hp[7 * b + 6]);
  }
  const double* lop = lo_h.data();
  const double* hip = hi_h.data();
  const int64_t* np = n_h.data();
  const auto bounded = [&](int64_t b, int a) {
    return np[b] > 0 && std::isfinite(lop[3 * b + a]) && std::isfinite(hip[3 * b + a]);
  };
  const auto origin = [&](int64_t b, int a) { return bounded(b, a) ? lop[3 * b + a] : 0.0; };
  const auto extent = [&](int64_t b, int a) {
    return bounded(b, a) ? std::max(0.0, hip[3 * b + a] - lop[3 * b + a]) : 0.0;
  };
  // Cell size for ~per_cell points per cell over the non-degenerate axes, if the points filled the box.
  std::vector<double> size(N, 1.0);
  for (int64_t b = 0; b < N; ++b) {
    double vol = 1.0, scale = 1e-30;
    int nd = 0;
    for (int a = 0; a < 3; ++a) scale = std::max(scale, extent(b, a));
    for (int a = 0; a < 3; ++a) {
      if (extent(b, a) > 1e-9 * scale) {
        vol *= extent(b, a);
        ++nd;
      }
    }
    const double s = nd > 0 && np[b] > 0 ? std::pow(vol * per_cell / static_cast<double>(np[b]), 1.0 / nd) : 1.0;
    size[b] = s > 0 && std::isfinite(s) ? s : 1.0;
  }
  std::vector<int64_t> first(N + 1, 0);
  // params (host and device), the global cell of every point (invalid points: the sentinel C, sorted last) and
  // the points per cell
  auto params_c = at::empty({N, 8}, at::TensorOptions().dtype(at::kDouble));
  at::Tensor params, cell, counts;
  const auto place = [&] {
    double* pp = params_c.mutable_data_ptr<double>();
    for (int64_t b = 0; b < N; ++b) {
      int64_t dims[3];
      const auto fit = [&] {
        int64_t total = 1;
        for (int a = 0; a < 3; ++a) {
          const double cells = std::ceil(extent(b, a) / size[b] * (1.0 + 1e-9));
          dims[a] = static_cast<int64_t>(std::min(std::max(cells, 1.0), 4096.0));
          total *= dims[a];
        }
        return total;
      };
      // Guard against degenerate spreads making too many cells: never more than ~4 per point.
      int64_t total = fit();
      while (total > 4 * std::max<int64_t>(np[b], 1) + 8) {
        size[b] *= 1.26;
        total = fit();
      }
      first[b + 1] = first[b] + total;
      for (int a = 0; a < 3; ++a) pp[8 * b + a] = origin(b, a);
      pp[8 * b + 3] = size[b];
      for (int a = 0; a < 3; ++a) pp[8 * b + 4 + a] = static_cast<double>(dims[a]);
      pp[8 * b + 7] = static_cast<double>(first[b]);
    }
    params = params_c.to(p2.device()).to(acc_type);
    const auto org = params.narrow(1, 0, 3).unsqueeze(1);          // (N, 1, 3)
    const auto sz = params.narrow(1, 3, 1).unsqueeze(1);           // (N, 1, 1)
    const auto dimsf = params.narrow(1, 4, 3).unsqueeze(1);        // (N, 1, 3)
    // NaN coordinates (unchecked on CUDA) go to cell 0, infinite ones to the edge: every cell index is in range
    auto cell3 = at::nan_to_num(at::floor((pts - org) / sz), 0.0).clamp_min(0);
    cell3 = at::minimum(cell3, dimsf - 1).to(at::kLong);            // (N, P2, 3)
    const auto dl = dimsf.to(at::kLong);
    cell = (cell3.select(2, 0) * dl.select(2, 1) + cell3.select(2, 1)) * dl.select(2, 2) + cell3.select(2, 2);
    cell = cell + params.narrow(1, 7, 1).to(at::kLong);             // + first cell of the cloud
    cell = at::where(valid, cell, first[N]).reshape({-1});
    counts = at::zeros({first[N] + 1}, lengths.options());
    counts.index_add_(0, cell, at::ones_like(cell));
  };
  place();
  // Points on a surface or a curve fill few of the box's cells, each far beyond per_cell: shrink those clouds'
  // cells by the square root of the excess (exact for a surface) and place the points again.
  {
    const auto occupied = at::cat({at::zeros({1}, lengths.options()), (counts.narrow(0, 0, first[N]) > 0).cumsum(0)});
    const auto firsts = at::tensor(std::vector<int64_t>(first.begin(), first.end()), lengths.options().device(at::kCPU));
    const auto occ_c = occupied.index_select(0, firsts.to(occupied.device())).cpu();
    const int64_t* op = occ_c.const_data_ptr<int64_t>();
    bool again = false;
    for (int64_t b = 0; b < N; ++b) {
      const int64_t cells = op[b + 1] - op[b];
      const double mean = cells > 0 ? static_cast<double>(np[b]) / static_cast<double>(cells) : 0.0;
      if (mean > 2.0 * per_cell) {
        size[b] *= std::sqrt(per_cell / mean);
        again = true;
      }
    }
    if (again) place();
  }
  const int64_t C = first[N];
  const auto order = at::argsort(cell, /*stable=*/true);
  int64_t total_valid = 0;  // the valid points sort first (the invalid ones have the sentinel cell C)
  for (int64_t b = 0; b < N; ++b) total_valid += np[b];
  const auto sorted_order = order.narrow(0, 0, total_valid);
  Grid g;
  g.pts = pts.reshape({-1, 3}).index_select(0, sorted_order).contiguous();
  g.point_idx = sorted_order.remainder(std::max<int64_t>(P2, 1)).contiguous();
  g.cell_start = at::zeros({C + 1}, lengths.options());
  g.cell_start.narrow(0, 1, C).copy_(counts.narrow(0, 0, C).cumsum(0));
  g.params = params.contiguous();
  return g;
}

}  // namespace knn
}  // namespace mg
