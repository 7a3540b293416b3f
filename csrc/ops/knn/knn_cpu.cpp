// CPU kernel for knn_points_idx (contract in knn.h): parallel over the queries of all clouds.
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/mm.h>
#include <ATen/ops/zeros.h>
#include <ATen/ATen.h>
#include <torch/library.h>

#include "../../common/checks.h"
#include "../../common/dispatch.h"
#include "knn.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

namespace mg {
namespace knn {
namespace {

// |q - p| (norm 1) or |q - p|^2 (norm 2), summed in coordinate order (every path computes it the same way).
template <typename scalar_t, typename acc_t>
inline acc_t exact_distance(const scalar_t* q, const scalar_t* p, int64_t D, int64_t norm) {
  acc_t s = 0;
  for (int64_t a = 0; a < D; ++a) {
    const acc_t d = static_cast<acc_t>(q[a]) - static_cast<acc_t>(p[a]);
    s += norm == 1 ? (d < 0 ? -d : d) : d * d;
  }
  return s;
}

// High D, any norm: scan the cloud with the running top K in the output row (exact; the definition).
template <typename scalar_t, typename acc_t>
void scan_knn(const at::Tensor& p1, const at::Tensor& p2, const int64_t* l1p, const int64_t* l2p, int64_t K,
              int64_t norm, acc_t* dp, int64_t* ip) {
  const int64_t N = p1.size(0), P1 = p1.size(1), P2 = p2.size(1), D = p1.size(2);
  const auto a1 = p1.contiguous(), a2 = p2.contiguous();
  const scalar_t* x1 = a1.const_data_ptr<scalar_t>();
  const scalar_t* x2 = a2.const_data_ptr<scalar_t>();
  at::parallel_for(0, N * P1, 16, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t n = t / P1, i = t - n * P1;
      const int64_t Keff = std::min<int64_t>(K, l2p[n]);
      if (i >= l1p[n] || Keff == 0) continue;
      const scalar_t* q = x1 + t * D;
      int64_t size = 0;
      for (int64_t j = 0; j < l2p[n]; ++j) {
        const acc_t s = exact_distance<scalar_t, acc_t>(q, x2 + (n * P2 + j) * D, D, norm);
        heap_offer(dp + t * K, ip + t * K, size, Keff, s, j);
      }
      heap_sort(dp + t * K, ip + t * K, size);
    }
  });
}

// High D, norm 2, float/double: blocked distance GEMM (|q|^2 + |x|^2 - 2 q.x, BLAS) with a running top-Kc
// candidate heap per query (Kc = 2K + 16; only a B1 x B2 block of distances exists at a time), then the exact
// distances of the candidates decide, as in scan_knn. The GEMM distances carry a rounding error below delta =
// 2 (D + 4) eps (|q| + max |x|)^2; a point left out of a full candidate heap has a GEMM distance >= the heap's
// largest, so when that largest exceeds the K-th smallest GEMM distance by more than 2 delta, no point outside
// can beat the K-th exact distance: the answer is exact. Otherwise (massive ties) that query is rescanned.
template <typename acc_t>
void gemm_knn(const at::Tensor& p1, const at::Tensor& p2, const int64_t* l1p, const int64_t* l2p, int64_t K, acc_t* dp,
              int64_t* ip) {
  const int64_t N = p1.size(0), P1 = p1.size(1), D = p1.size(2);
  constexpr int64_t B1 = 512, B2 = 2048;
  const acc_t eps = std::numeric_limits<acc_t>::epsilon();
  for (int64_t n = 0; n < N; ++n) {
    const int64_t m1 = l1p[n], m2 = l2p[n];
    const int64_t Keff = std::min<int64_t>(K, m2);
    if (m1 == 0 || Keff == 0) continue;
    const auto Q = p1[n].narrow(0, 0, m1).contiguous();
    const auto X = p2[n].narrow(0, 0, m2).contiguous();
    const acc_t* qp = Q.const_data_ptr<acc_t>();
    const acc_t* xp = X.const_data_ptr<acc_t>();
    const auto qn_t = Q.square().sum(1).contiguous(), xn_t = X.square().sum(1).contiguous();
    const acc_t* qn = qn_t.const_data_ptr<acc_t>();
    const acc_t* xn = xn_t.const_data_ptr<acc_t>();
    const acc_t xmax = std::sqrt(xn_t.max().item<acc_t>());
    const int64_t Kc = std::min<int64_t>(2 * K + 16, m2);
    std::vector<acc_t> cd(static_cast<size_t>(m1 * Kc));
    std::vector<int64_t> ci(static_cast<size_t>(m1 * Kc));
    std::vector<int64_t> cs(static_cast<size_t>(m1), 0);
    auto G = at::empty({std::min(B1, m1), std::min(B2, m2)}, Q.options());
    for (int64_t r0 = 0; r0 < m1; r0 += B1) {
      const int64_t rb = std::min(B1, m1 - r0);
      for (int64_t c0 = 0; c0 < m2; c0 += B2) {
        const int64_t cb = std::min(B2, m2 - c0);
        auto g = G.narrow(0, 0, rb).narrow(1, 0, cb);
        // g = |x|^2 - 2 q.x in one BLAS call (the query's |q|^2 is added at the comparison)
        at::addmm_out(g, xn_t.narrow(0, c0, cb).unsqueeze(0), Q.narrow(0, r0, rb), X.narrow(0, c0, cb).t(), 1, -2);
        const acc_t* gp = g.const_data_ptr<acc_t>();
        const int64_t ld = g.stride(0);
        at::parallel_for(0, rb, 8, [&](int64_t lo, int64_t hi) {
          for (int64_t r = lo; r < hi; ++r) {
            const int64_t row = r0 + r;
            acc_t* hd = cd.data() + row * Kc;
            int64_t* hi_ = ci.data() + row * Kc;
            int64_t size = cs[row];
            const acc_t qq = qn[row];
            const acc_t* gr = gp + r * ld;
            // offer only entries below the heap's current largest (a predictable, mostly-false branch)
            acc_t thr = size == Kc ? hd[0] - qq : std::numeric_limits<acc_t>::infinity();
            for (int64_t c = 0; c < cb; ++c) {
              if (!(gr[c] < thr)) continue;
              heap_offer(hd, hi_, size, Kc, qq + gr[c], c0 + c);
              if (size == Kc) thr = hd[0] - qq;
            }
            cs[row] = size;
          }
        });
      }
    }
    // exact distances of the candidates decide; rescan where the margin does not prove it
    at::parallel_for(0, m1, 16, [&](int64_t lo, int64_t hi) {
      std::vector<acc_t> sd(static_cast<size_t>(Kc));
      for (int64_t row = lo; row < hi; ++row) {
        const int64_t t = n * P1 + row;
        const acc_t* q = qp + row * D;
        acc_t* hd = cd.data() + row * Kc;
        int64_t* hi_ = ci.data() + row * Kc;
        const int64_t size = cs[row];
        bool proven = size < Kc || Kc == m2;  // every point is a candidate
        if (!proven) {
          std::copy(hd, hd + size, sd.begin());
          std::nth_element(sd.begin(), sd.begin() + (Keff - 1), sd.begin() + size);
          const acc_t kth = sd[Keff - 1];
          const acc_t qnorm = std::sqrt(qn[row]);
          const acc_t delta = acc_t(2) * static_cast<acc_t>(D + 4) * eps * (qnorm + xmax) * (qnorm + xmax);
          proven = hd[0] > kth + 2 * delta;
        }
        int64_t out = 0;
        if (proven) {
          for (int64_t c = 0; c < size; ++c) {
            const int64_t j = hi_[c];
            heap_offer(dp + t * K, ip + t * K, out, Keff, exact_distance<acc_t, acc_t>(q, xp + j * D, D, 2), j);
          }
        } else {
          for (int64_t j = 0; j < m2; ++j)
            heap_offer(dp + t * K, ip + t * K, out, Keff, exact_distance<acc_t, acc_t>(q, xp + j * D, D, 2), j);
        }
        heap_sort(dp + t * K, ip + t * K, out);
      }
    });
  }
}

// ---------------------------------------------------------------- D <= 3: block search over grid cells
//
// Queries are bucketed by the grid cell they fall in (clamped into the grid). For each query cell the points of
// the 3 x 3 x 3 block of cells around it are gathered once into coordinate arrays; every query of the cell then
// computes its distances to the whole block and keeps those below `bound`, the distance from the query to the
// nearest face of the block that is not a face of the grid (no point outside the block is closer than that). If
// at least K points of the block are closer than the bound, the K smallest of them by (distance, index) are the
// answer; otherwise (sparse surroundings) the query falls back to the shell-by-shell grid_search.
//
// Candidates are compared as one integer key per point: for float, (bits of the distance << 32 | index); the
// bits of a non-negative float order as the float does, so the key orders by (distance, index) -- the tie rule.
template <typename acc_t>
struct BlockKey {  // float64: the (distance, index) pair itself
  using type = std::pair<acc_t, int64_t>;
  static type make(acc_t d, int64_t j) { return {d, j}; }
  static acc_t dist(const type& k) { return k.first; }
  static int64_t index(const type& k) { return k.second; }
};
template <>
struct BlockKey<float> {
  using type = uint64_t;
  static type make(float d, int64_t j) {
    uint32_t b;
    std::memcpy(&b, &d, sizeof(b));
    return (static_cast<uint64_t>(b) << 32) | static_cast<uint32_t>(j);
  }
  static float dist(type k) {
    const uint32_t b = static_cast<uint32_t>(k >> 32);
    float d;
    std::memcpy(&d, &b, sizeof(d));
    return d;
  }
  static int64_t index(type k) { return static_cast<int64_t>(k & 0xffffffffu); }
};

// Blocks pay off when a 3 x 3 x 3 block of cells usually holds K points within the bound.
inline bool block_search_applies(int64_t K, int64_t P2) {
  return static_cast<double>(K) <= 8.0 * cell_occupancy(K) && P2 < (int64_t{1} << 31);
}

template <typename acc_t>
void block_knn(const Grid& g, const acc_t* qp, int64_t D, const int64_t* l1p, const int64_t* l2p, int64_t N,
               int64_t P1, int64_t K, int norm, acc_t* dp, int64_t* ip) {
  using Key = BlockKey<acc_t>;
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
      for (int a = 0; a < 3; ++a) {
        const int64_t dim = static_cast<int64_t>(pr[4 + a]);
        const acc_t rel = ((a < D ? qp[t * D + a] : acc_t(0)) - pr[a]) / pr[3];
        const int64_t c = !(rel >= 0) ? 0 : (rel >= static_cast<acc_t>(dim - 1) ? dim - 1 : static_cast<int64_t>(rel));
        cell = cell * dim + c;
      }
      qcell[t] = static_cast<int64_t>(pr[7]) + cell;
    }
  });
  std::vector<int64_t> qstart(static_cast<size_t>(C + 1), 0);
  for (int64_t t = 0; t < N * P1; ++t)
    if (qcell[t] >= 0) ++qstart[qcell[t] + 1];
  for (int64_t c = 0; c < C; ++c) qstart[c + 1] += qstart[c];
  const int64_t T1 = qstart[C];
  std::vector<int64_t> qorder(static_cast<size_t>(std::max<int64_t>(T1, 1)));
  {
    std::vector<int64_t> fill(qstart.begin(), qstart.end() - 1);
    for (int64_t t = 0; t < N * P1; ++t)
      if (qcell[t] >= 0) qorder[fill[qcell[t]]++] = t;
  }
  // cloud of each global cell range: cells of cloud n are [params[n][7], params[n + 1][7])
  at::parallel_for(0, T1, 256, [&](int64_t begin, int64_t end) {
    std::vector<acc_t> bx, by, bz;
    std::vector<int32_t> bi;
    std::vector<typename Key::type> keys;
    int64_t cur = -1, m = 0, n = 0;
    int64_t lo[3] = {0, 0, 0}, hi[3] = {0, 0, 0}, dims[3] = {1, 1, 1};
    const acc_t* pr = params;
    for (int64_t k = begin; k < end; ++k) {
      const int64_t t = qorder[k];
      if (qcell[t] != cur) {  // gather the block of this cell
        cur = qcell[t];
        n = t / P1;
        pr = params + 8 * n;
        for (int a = 0; a < 3; ++a) dims[a] = static_cast<int64_t>(pr[4 + a]);
        int64_t local = cur - static_cast<int64_t>(pr[7]);
        int64_t c3[3];
        c3[2] = local % dims[2];
        local /= dims[2];
        c3[1] = local % dims[1];
        c3[0] = local / dims[1];
        for (int a = 0; a < 3; ++a) {
          lo[a] = std::max<int64_t>(c3[a] - 1, 0);
          hi[a] = std::min<int64_t>(c3[a] + 1, dims[a] - 1);
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
      acc_t q[3] = {0, 0, 0};
      for (int64_t a = 0; a < D; ++a) q[a] = qp[t * D + a];
      // distance from q to the nearest block face inside the grid, less a rounding margin (cells were assigned
      // in floating point: a point may sit a few ulps across its cell's face)
      const acc_t eps = std::numeric_limits<acc_t>::epsilon();
      acc_t gap = std::numeric_limits<acc_t>::infinity();
      for (int a = 0; a < 3; ++a) {
        const acc_t tol = 8 * eps * (std::abs(pr[a]) + static_cast<acc_t>(dims[a]) * pr[3] + std::abs(q[a]));
        if (lo[a] > 0) gap = std::min(gap, q[a] - (pr[a] + static_cast<acc_t>(lo[a]) * pr[3]) - tol);
        if (hi[a] + 1 < dims[a]) gap = std::min(gap, (pr[a] + static_cast<acc_t>(hi[a] + 1) * pr[3]) - q[a] - tol);
      }
      const acc_t bound = !(gap > 0) ? acc_t(0) : (norm == 1 || gap == std::numeric_limits<acc_t>::infinity() ? gap : gap * gap);
      int64_t cnt = 0;
      typename Key::type* kp = keys.data();
      if (norm == 2) {
        for (int64_t j = 0; j < m; ++j) {
          const acc_t dx = q[0] - bx[j], dy = q[1] - by[j], dz = q[2] - bz[j];
          acc_t s = dx * dx;
          s += dy * dy;
          s += dz * dz;
          kp[cnt] = Key::make(s, bi[j]);
          cnt += s < bound;
        }
      } else {
        for (int64_t j = 0; j < m; ++j) {
          acc_t s = std::abs(q[0] - bx[j]);
          s += std::abs(q[1] - by[j]);
          s += std::abs(q[2] - bz[j]);
          kp[cnt] = Key::make(s, bi[j]);
          cnt += s < bound;
        }
      }
      acc_t* od = dp + t * K;
      int64_t* oi = ip + t * K;
      if (cnt >= Keff) {
        if (cnt > Keff) std::nth_element(kp, kp + (Keff - 1), kp + cnt);
        std::sort(kp, kp + Keff);
        for (int64_t r = 0; r < Keff; ++r) {
          od[r] = Key::dist(kp[r]);
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

std::tuple<at::Tensor, at::Tensor> knn_points_idx_cpu(const at::Tensor& p1, const at::Tensor& p2,
                                                      const at::Tensor& lengths1, const at::Tensor& lengths2, int64_t K,
                                                      int64_t norm) {
  check_knn_inputs(p1, p2, K, norm);
  const int64_t N = p1.size(0), P1 = p1.size(1), P2 = p2.size(1), D = p1.size(2);
  const auto acc_type = point_acc_type(p1);
  auto dists = at::zeros({N, P1, K}, p1.options().dtype(acc_type));
  auto idx = at::zeros({N, P1, K}, p1.options().dtype(at::kLong));
  if (N == 0 || P1 == 0) return {dists.to(p1.scalar_type()), idx};
  const auto l1 = clamped_lengths(lengths1, P1);
  const auto l2 = clamped_lengths(lengths2, P2);
  const int64_t* l1p = l1.const_data_ptr<int64_t>();
  const int64_t* l2p = l2.const_data_ptr<int64_t>();
  MG_DISPATCH_FLOATING_TYPES(p1.scalar_type(), "knn_points_idx_cpu", [&] {
    using acc_t = mg::acc_t<scalar_t>;
    acc_t* dp = dists.mutable_data_ptr<acc_t>();
    int64_t* ip = idx.mutable_data_ptr<int64_t>();
    if (D <= 3) {
      const Grid g = build_grid(p2, l2, acc_type, cell_occupancy(K));
      const auto q1 = p1.to(acc_type).contiguous();
      const acc_t* qp = q1.const_data_ptr<acc_t>();
      const acc_t* pts = g.pts.const_data_ptr<acc_t>();
      const int64_t* pidx = g.point_idx.const_data_ptr<int64_t>();
      const int64_t* cs = g.cell_start.const_data_ptr<int64_t>();
      const acc_t* params = g.params.const_data_ptr<acc_t>();
      if (block_search_applies(K, P2)) {
        block_knn<acc_t>(g, qp, D, l1p, l2p, N, P1, K, static_cast<int>(norm), dp, ip);
        return;
      }
      at::parallel_for(0, N * P1, 64, [&](int64_t begin, int64_t end) {
        for (int64_t t = begin; t < end; ++t) {
          const int64_t n = t / P1, i = t - n * P1;
          const int64_t Keff = std::min<int64_t>(K, l2p[n]);
          if (i >= l1p[n] || Keff == 0) continue;
          acc_t q[3] = {0, 0, 0};
          for (int64_t a = 0; a < D; ++a) q[a] = qp[t * D + a];
          int64_t size = 0;
          grid_search(q, params + 8 * n, pts, pidx, cs, Keff, static_cast<int>(norm), dp + t * K, ip + t * K, size);
          heap_sort(dp + t * K, ip + t * K, size);
        }
      });
    } else if (norm == 2 && std::is_same<acc_t, scalar_t>::value) {
      gemm_knn<acc_t>(p1, p2, l1p, l2p, K, dp, ip);
    } else {
      scan_knn<scalar_t, acc_t>(p1, p2, l1p, l2p, K, norm, dp, ip);
    }
  });
  return {dists.to(p1.scalar_type()), idx};
}

}  // namespace
}  // namespace knn
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CPU, m) { m.impl("knn_points_idx", &mg::knn::knn_points_idx_cpu); }
