// knn_points_idx on CPU, D <= 3: block search over the cells of knn.h's grid (knn_cpu.h).
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "knn_cpu.h"

namespace mg {
namespace knn {

// ---------------------------------------------------------------- D <= 3: block search over grid cells
//
// Queries are bucketed by the grid cell they fall in (clamped into the grid). For each query cell the points of
// the 3 x 3 x 3 block of cells around it are gathered once into coordinate arrays; every query of the cell then
// computes its distances to the whole block and keeps those below `bound`, the distance from the query to the
// nearest face of the block that is not a face of the grid (no point outside the block is closer than that). If
// at least K points of the block are closer than the bound, the K smallest of them by (distance, index) are the
// answer; otherwise (sparse surroundings) the query falls back to the shell-by-shell grid_search.
//

template <typename acc_t>
void block_knn(const Grid& g, const acc_t* qp, int64_t D, const int64_t* l1p, const int64_t* l2p, int64_t N,
               int64_t P1, int64_t K, int norm, acc_t* dp, int64_t* ip) {
  using Key = SortKey<acc_t>;
  const acc_t* params = g.params.const_data_ptr<acc_t>();
  const acc_t* pts = g.pts.const_data_ptr<acc_t>();
  const int64_t* pidx = g.point_idx.const_data_ptr<int64_t>();
  const int64_t* cs = g.cell_start.const_data_ptr<int64_t>();
  const int64_t C = g.cell_start.size(0) - 1;
  // 1. the cell of every query (-1: nothing to do), then the queries in cell order (counting sort)
  std::vector<int64_t> qcell(static_cast<size_t>(N * P1));
  at::parallel_for(0, N * P1, 2048, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t n = t / P1, i = t - n * P1;
      if (i >= l1p[n] || l2p[n] == 0) {
        qcell[t] = -1;
        continue;
      }
      const acc_t* pr = params + 8 * n;
      int64_t cell = 0;
      for (int a = 0; a < 3; ++a)
        cell = cell * static_cast<int64_t>(pr[4 + a]) + clamped_cell(a < D ? qp[t * D + a] : acc_t(0), pr, a);
      qcell[t] = static_cast<int64_t>(pr[7]) + cell;
    }
  });
  std::vector<int64_t> qstart(static_cast<size_t>(C + 1), 0);
  for (int64_t t = 0; t < N * P1; ++t)
    if (qcell[t] >= 0) ++qstart[qcell[t] + 1];
  for (int64_t c = 0; c < C; ++c) qstart[c + 1] += qstart[c];
  const int64_t T1 = qstart[C];
  // in cell order: the query's row t, its cell and its coordinates (read in sequence below)
  std::vector<int64_t> qorder(static_cast<size_t>(std::max<int64_t>(T1, 1)));
  std::vector<int64_t> scell(static_cast<size_t>(std::max<int64_t>(T1, 1)));
  std::vector<acc_t> sq(static_cast<size_t>(3 * std::max<int64_t>(T1, 1)), acc_t(0));
  {
    std::vector<int64_t>& fill = qstart;  // consumed as each cell's write cursor
    for (int64_t t = 0; t < N * P1; ++t) {
      if (qcell[t] < 0) continue;
      const int64_t k = fill[qcell[t]]++;
      qorder[k] = t;
      scell[k] = qcell[t];
      for (int64_t a = 0; a < D; ++a) sq[3 * k + a] = qp[t * D + a];
    }
  }
  at::parallel_for(0, T1, 256, [&](int64_t begin, int64_t end) {
    std::vector<acc_t> bx, by, bz;
    std::vector<int32_t> bi;
    std::vector<typename Key::type> keys;
    int64_t cur = -1, m = 0, n = 0;
    acc_t hint = std::numeric_limits<acc_t>::infinity();  // see "tighter limit" below
    int64_t lo[3] = {0, 0, 0}, hi[3] = {0, 0, 0}, dims[3] = {1, 1, 1}, own[3] = {0, 0, 0};
    const acc_t* pr = params;
    for (int64_t k = begin; k < end; ++k) {
      const int64_t t = qorder[k];
      if (scell[k] != cur) {  // gather the block of this cell
        cur = scell[k];
        hint = std::numeric_limits<acc_t>::infinity();
        n = t / P1;
        pr = params + 8 * n;
        for (int a = 0; a < 3; ++a) dims[a] = static_cast<int64_t>(pr[4 + a]);
        int64_t local = cur - static_cast<int64_t>(pr[7]);
        own[2] = local % dims[2];
        local /= dims[2];
        own[1] = local % dims[1];
        own[0] = local / dims[1];
        for (int a = 0; a < 3; ++a) {
          lo[a] = std::max<int64_t>(own[a] - 1, 0);
          hi[a] = std::min<int64_t>(own[a] + 1, dims[a] - 1);
        }
        m = 0;
        const int64_t first = static_cast<int64_t>(pr[7]);
        for (int64_t x = lo[0]; x <= hi[0]; ++x) {
          for (int64_t y = lo[1]; y <= hi[1]; ++y) {
            const int64_t row = first + (x * dims[1] + y) * dims[2];
            m += cs[row + hi[2] + 1] - cs[row + lo[2]];
          }
        }
        if (static_cast<int64_t>(bx.size()) < m) {
          bx.resize(m);
          by.resize(m);
          bz.resize(m);
          bi.resize(m);
          keys.resize(m);
        }
        int64_t w = 0;
        for (int64_t x = lo[0]; x <= hi[0]; ++x) {
          for (int64_t y = lo[1]; y <= hi[1]; ++y) {
            const int64_t row = first + (x * dims[1] + y) * dims[2];
            for (int64_t u = cs[row + lo[2]]; u < cs[row + hi[2] + 1]; ++u, ++w) {
              bx[w] = pts[3 * u];
              by[w] = pts[3 * u + 1];
              bz[w] = pts[3 * u + 2];
              bi[w] = static_cast<int32_t>(pidx[u]);
            }
          }
        }
      }
      const int64_t Keff = std::min<int64_t>(K, l2p[n]);
      const acc_t q[3] = {sq[3 * k], sq[3 * k + 1], sq[3 * k + 2]};
      // Distance bound (squared for norm 2) from q to the nearest face of the cell range [l, h] that is not a grid
      // face, less a rounding margin (cells were assigned in floating point: a point may sit a few ulps across
      // its cell's face). Every point outside the range is at least that far from q.
      const auto range_bound = [&](const int64_t* l, const int64_t* h) {
        const acc_t eps = std::numeric_limits<acc_t>::epsilon();
        acc_t gap = std::numeric_limits<acc_t>::infinity();
        for (int a = 0; a < 3; ++a) {
          const acc_t tol = 8 * eps * (std::abs(pr[a]) + static_cast<acc_t>(dims[a]) * pr[3] + std::abs(q[a]));
          if (l[a] > 0) gap = std::min(gap, q[a] - (pr[a] + static_cast<acc_t>(l[a]) * pr[3]) - tol);
          if (h[a] + 1 < dims[a]) gap = std::min(gap, (pr[a] + static_cast<acc_t>(h[a] + 1) * pr[3]) - q[a] - tol);
        }
        return !(gap > 0) ? acc_t(0)
                          : (norm == 1 || gap == std::numeric_limits<acc_t>::infinity() ? gap : gap * gap);
      };
      acc_t* od = dp + t * K;
      int64_t* oi = ip + t * K;
      if (Keff == 1) {
        // K = 1: the query's own cell first; its nearest point wins when closer than the cell's faces (a self
        // query finds itself at 0)
        const int64_t cell = cur;
        acc_t bd = std::numeric_limits<acc_t>::infinity();
        int64_t bj = -1;
        for (int64_t u = cs[cell]; u < cs[cell + 1]; ++u) {
          const acc_t d = point_distance(q, pts + 3 * u, norm);
          if (d < bd || (d == bd && pidx[u] < bj)) {
            bd = d;
            bj = pidx[u];
          }
        }
        if (bj >= 0 && bd < range_bound(own, own)) {
          od[0] = bd;
          oi[0] = bj;
          continue;
        }
      }
      const acc_t bound = range_bound(lo, hi);
      typename Key::type* kp = keys.data();
      // the block's points closer than `limit`, as keys in kp[0, cnt)
      const auto collect = [&](acc_t limit) {
        int64_t cnt = 0;
        if (norm == 2) {
          for (int64_t j = 0; j < m; ++j) {
            const acc_t dx = q[0] - bx[j], dy = q[1] - by[j], dz = q[2] - bz[j];
            acc_t s = dx * dx;
            s += dy * dy;
            s += dz * dz;
            kp[cnt] = Key::make(s, bi[j]);
            cnt += s < limit;
          }
        } else {
          for (int64_t j = 0; j < m; ++j) {
            acc_t s = std::abs(q[0] - bx[j]);
            s += std::abs(q[1] - by[j]);
            s += std::abs(q[2] - bz[j]);
            kp[cnt] = Key::make(s, bi[j]);
            cnt += s < limit;
          }
        }
        return cnt;
      };
      // First try a tighter limit: twice the previous query's K-th distance (squared: 1.41 times the radius) --
      // queries of one cell lie close together -- so the selection below sorts few keys. Too tight: retry with
      // the block bound.
      const acc_t first_limit = hint > 0 ? std::min(bound, hint) : bound;  // 0: a self query of K = 1
      int64_t cnt = collect(first_limit);
      if (cnt < Keff && first_limit < bound) cnt = collect(bound);
      if (cnt >= Keff) {
        if (cnt > Keff) std::nth_element(kp, kp + (Keff - 1), kp + cnt);
        std::sort(kp, kp + Keff);
        hint = 2 * Key::value(kp[Keff - 1]);
        for (int64_t r = 0; r < Keff; ++r) {
          od[r] = Key::value(kp[r]);
          oi[r] = Key::index(kp[r]);
        }
      } else {
        int64_t size = 0;
        grid_search(q, pr, pts, pidx, cs, Keff, norm, od, oi, size);
        heap_sort(od, oi, size);
      }
    }
  });
}

template void block_knn<float>(const Grid&, const float*, int64_t, const int64_t*, const int64_t*, int64_t, int64_t,
                               int64_t, int, float*, int64_t*);
template void block_knn<double>(const Grid&, const double*, int64_t, const int64_t*, const int64_t*, int64_t, int64_t,
                                int64_t, int, double*, int64_t*);

}  // namespace knn
}  // namespace mg
