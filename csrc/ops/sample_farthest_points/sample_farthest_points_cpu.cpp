// CPU kernel for sample_farthest_points_idx (contract in sample_farthest_points.h).
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/full.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "../../common/dispatch.h"
#include "sample_farthest_points.h"

namespace mg {
namespace fps {
namespace {

// Farthest point sampling of one cloud (n points, D coords at x), writing `picks` indices to out.
// `parallel` splits each pick over threads. Coordinates are transposed to one array per axis so the distance
// update vectorizes; the maximum is found with a vectorizable max pass, then its first index.
template <typename acc_t>
void fps_cloud(const acc_t* x, int64_t n, int64_t D, int64_t picks, int64_t start, int64_t* out, bool parallel) {
  if (picks <= 0 || n <= 0) return;
  std::vector<acc_t> soa(D * n), dist(n, std::numeric_limits<acc_t>::infinity());
  for (int64_t j = 0; j < n; ++j)
    for (int64_t a = 0; a < D; ++a) soa[a * n + j] = x[j * D + a];
  int64_t last = std::min(std::max<int64_t>(start, 0), n - 1);
  out[0] = last;
  const int threads = parallel && n >= 4096 ? at::get_num_threads() : 1;
  const int64_t chunk = (n + threads - 1) / threads;
  std::vector<acc_t> best_d(threads);
  std::vector<int64_t> best_i(threads);
  acc_t* dp = dist.data();
  const acc_t* cp = soa.data();
  auto pick_in = [&](int64_t begin, int64_t end, const acc_t* p, acc_t& bd, int64_t& bi) {
    if (D == 3) {
      const acc_t *xs = cp, *ys = cp + n, *zs = cp + 2 * n;
      const acc_t px = p[0], py = p[1], pz = p[2];
      for (int64_t j = begin; j < end; ++j) {
        const acc_t dx = xs[j] - px, dy = ys[j] - py, dz = zs[j] - pz;
        const acc_t d2 = dx * dx + dy * dy + dz * dz;
        dp[j] = d2 < dp[j] ? d2 : dp[j];
      }
    } else {
      for (int64_t j = begin; j < end; ++j) {
        acc_t d2 = 0;
        for (int64_t a = 0; a < D; ++a) {
          const acc_t d = cp[a * n + j] - p[a];
          d2 += d * d;
        }
        dp[j] = d2 < dp[j] ? d2 : dp[j];
      }
    }
    acc_t m = -1;
    for (int64_t j = begin; j < end; ++j) m = dp[j] > m ? dp[j] : m;
    int64_t at = begin;
    while (at < end && dp[at] != m) ++at;  // first index of the maximum
    bd = m;
    bi = at;
  };
  std::vector<acc_t> p(D);
  for (int64_t k = 1; k < picks; ++k) {
    for (int64_t a = 0; a < D; ++a) p[a] = cp[a * n + last];
    acc_t bd = -1;
    int64_t bi = 0;
    if (threads > 1) {
      at::parallel_for(0, threads, 1, [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t) pick_in(t * chunk, std::min(n, (t + 1) * chunk), p.data(), best_d[t], best_i[t]);
      });
      for (int t = 0; t < threads; ++t) {  // chunks are in index order: strict > keeps the smallest index
        if (t * chunk < n && best_d[t] > bd) {
          bd = best_d[t];
          bi = best_i[t];
        }
      }
    } else {
      pick_in(0, n, p.data(), bd, bi);
    }
    last = bi;
    out[k] = last;
  }
}

// Exact FPS of one cloud with D <= 3 on a grid of cells (~32 points each) holding each cell's largest distance
// to the selected set. A new pick can only lower the distances in cells whose bounding box comes closer to it
// than that largest distance (with a relative margin far above float rounding, so every distance stays exactly
// what the plain loop computes); all other cells are skipped. The next pick is the largest distance (ties: the
// smallest index), found from the cell maxima.
template <typename acc_t>
void fps_cloud_grid(const acc_t* x, int64_t n, int64_t D, int64_t picks, int64_t start, int64_t* out) {
  if (picks <= 0 || n <= 0) return;
  acc_t lo[3] = {0, 0, 0}, hi[3] = {0, 0, 0};
  for (int64_t a = 0; a < D; ++a) {
    lo[a] = hi[a] = x[a];
    for (int64_t j = 1; j < n; ++j) {
      lo[a] = std::min(lo[a], x[j * D + a]);
      hi[a] = std::max(hi[a], x[j * D + a]);
    }
  }
  // Grid: about n / 32 cells, split along the axes in proportion to the extent.
  const double target = std::max(1.0, static_cast<double>(n) / 32.0);
  double ext[3], vol = 1.0;
  int nd = 0;
  for (int a = 0; a < 3; ++a) {
    ext[a] = a < D ? static_cast<double>(hi[a] - lo[a]) : 0.0;
    if (ext[a] > 0) {
      vol *= ext[a];
      ++nd;
    }
  }
  const double side = nd ? std::pow(vol / target, 1.0 / nd) : 1.0;
  int64_t dims[3];
  for (int a = 0; a < 3; ++a) dims[a] = ext[a] > 0 ? std::max<int64_t>(1, std::min<int64_t>(1024, static_cast<int64_t>(ext[a] / side))) : 1;
  const int64_t C = dims[0] * dims[1] * dims[2];
  std::vector<int64_t> cell_of(n), count(C + 1, 0);
  for (int64_t j = 0; j < n; ++j) {
    int64_t c = 0;
    for (int a = 0; a < 3; ++a) {
      int64_t v = 0;
      if (a < D && ext[a] > 0) v = std::min<int64_t>(dims[a] - 1, static_cast<int64_t>((x[j * D + a] - lo[a]) / ext[a] * dims[a]));
      c = c * dims[a] + std::max<int64_t>(v, 0);
    }
    cell_of[j] = c;
    ++count[c + 1];
  }
  for (int64_t c = 0; c < C; ++c) count[c + 1] += count[c];
  std::vector<int64_t> order(n), fill(count.begin(), count.end() - 1);
  for (int64_t j = 0; j < n; ++j) order[fill[cell_of[j]]++] = j;  // stable: index order within a cell
  std::vector<acc_t> px(n), py(n), pz(n), dist(n, std::numeric_limits<acc_t>::infinity());
  std::vector<acc_t> bmin(3 * C, std::numeric_limits<acc_t>::infinity()), bmax(3 * C, -std::numeric_limits<acc_t>::infinity());
  for (int64_t t = 0; t < n; ++t) {
    const int64_t j = order[t];
    px[t] = x[j * D];
    py[t] = D > 1 ? x[j * D + 1] : acc_t(0);
    pz[t] = D > 2 ? x[j * D + 2] : acc_t(0);
    const int64_t c = cell_of[j];
    const acc_t v[3] = {px[t], py[t], pz[t]};
    for (int a = 0; a < 3; ++a) {
      bmin[3 * c + a] = std::min(bmin[3 * c + a], v[a]);
      bmax[3 * c + a] = std::max(bmax[3 * c + a], v[a]);
    }
  }
  std::vector<acc_t> cmax(C, std::numeric_limits<acc_t>::infinity());
  for (int64_t c = 0; c < C; ++c)
    if (count[c] == count[c + 1]) cmax[c] = -1;
  int64_t last = std::min(std::max<int64_t>(start, 0), n - 1);
  out[0] = last;
  acc_t q[3] = {x[last * D], D > 1 ? x[last * D + 1] : acc_t(0), D > 2 ? x[last * D + 2] : acc_t(0)};
  for (int64_t k = 1; k < picks; ++k) {
    acc_t best = -1;
    for (int64_t c = 0; c < C; ++c) {
      if (cmax[c] < 0) continue;
      acc_t lb = 0;
      for (int a = 0; a < 3; ++a) {
        const acc_t d = q[a] < bmin[3 * c + a] ? bmin[3 * c + a] - q[a] : (q[a] > bmax[3 * c + a] ? q[a] - bmax[3 * c + a] : acc_t(0));
        lb += d * d;
      }
      if (lb > cmax[c] * acc_t(1.0001)) {
        best = std::max(best, cmax[c]);
        continue;
      }
      acc_t m = -1;
      for (int64_t t = count[c]; t < count[c + 1]; ++t) {
        const acc_t dx = px[t] - q[0], dy = py[t] - q[1], dz = pz[t] - q[2];
        const acc_t d2 = dx * dx + dy * dy + dz * dz;
        const acc_t v = d2 < dist[t] ? d2 : dist[t];
        dist[t] = v;
        m = v > m ? v : m;
      }
      cmax[c] = m;
      best = std::max(best, m);
    }
    int64_t pick = n;  // smallest index among the points at the maximum
    for (int64_t c = 0; c < C; ++c) {
      if (cmax[c] != best) continue;
      for (int64_t t = count[c]; t < count[c + 1]; ++t)
        if (dist[t] == best && order[t] < pick) pick = order[t];
    }
    last = pick;
    out[k] = last;
    q[0] = x[last * D];
    q[1] = D > 1 ? x[last * D + 1] : acc_t(0);
    q[2] = D > 2 ? x[last * D + 2] : acc_t(0);
  }
}

at::Tensor sample_farthest_points_idx_cpu(const at::Tensor& points, const at::Tensor& lengths, const at::Tensor& K,
                                          const at::Tensor& start, int64_t max_K) {
  check_fps_inputs(points, lengths, K, start, max_K);
  const int64_t N = points.size(0), P = points.size(1), D = points.size(2);
  auto idx = at::full({N, max_K}, -1, points.options().dtype(at::kLong));
  if (N == 0 || max_K == 0) return idx;
  const auto acc_type = knn::point_acc_type(points);
  const auto x = points.to(acc_type).contiguous();
  const auto l = knn::clamped_lengths(lengths, P);
  const auto k = K.to(at::kLong).clamp(0, max_K).contiguous();
  const auto s = start.to(at::kLong).contiguous();
  const int64_t *lp = l.const_data_ptr<int64_t>(), *kp = k.const_data_ptr<int64_t>(), *sp = s.const_data_ptr<int64_t>();
  int64_t* ip = idx.mutable_data_ptr<int64_t>();
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "sample_farthest_points_idx_cpu", [&] {
    using acc_t = scalar_t;
    const acc_t* xp = x.const_data_ptr<acc_t>();
    const bool across_clouds = N >= at::get_num_threads();
    if (D <= 3) {  // grid-accelerated exact FPS, clouds in parallel
      at::parallel_for(0, N, 1, [&](int64_t n0, int64_t n1) {
        for (int64_t n = n0; n < n1; ++n)
          fps_cloud_grid(xp + n * P * D, lp[n], D, std::min(kp[n], lp[n]), sp[n], ip + n * max_K);
      });
    } else if (across_clouds) {
      at::parallel_for(0, N, 1, [&](int64_t n0, int64_t n1) {
        for (int64_t n = n0; n < n1; ++n)
          fps_cloud(xp + n * P * D, lp[n], D, std::min(kp[n], lp[n]), sp[n], ip + n * max_K, false);
      });
    } else {
      for (int64_t n = 0; n < N; ++n)
        fps_cloud(xp + n * P * D, lp[n], D, std::min(kp[n], lp[n]), sp[n], ip + n * max_K, true);
    }
  });
  return idx;
}

}  // namespace
}  // namespace fps
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CPU, m) {
  m.impl("sample_farthest_points_idx", &mg::fps::sample_farthest_points_idx_cpu);
}
