// knn_points_idx on CPU, D > 3, norm 2, float/double: candidates from blocked distance GEMMs (knn_cpu.h).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>

#include <algorithm>
#include <limits>
#include <utility>
#include <vector>

#include "knn_cpu_candidates.h"

namespace mg {
namespace knn {

// High D, norm 2, float/double: blocked distance GEMM (|x|^2 - 2 q.x, BLAS; |q|^2 is the same for a whole row)
// with a running set of Kc = K + max(8, K / 4) candidates per query -- only a B1 x B2 block of distances exists
// at a time -- then the exact distances of the candidates decide, as in scan_knn. A row keeps its candidates in a
// buffer: entries below the row's threshold are appended (a vectorized test skips 16 entries at a time), and a
// full buffer makes room (make_room: keeps the entries below a new, lower threshold, at least Kc of them). So
// every entry outside the final Kc candidates has a GEMM distance >= the largest candidate's.
// The GEMM distances carry a rounding error below delta = 2 (D + 4) eps (|q| + max |x|)^2; when the largest
// candidate exceeds the K-th smallest candidate by more than 2 delta, no point outside can beat the K-th exact
// distance: the answer is exact (finish_gemm_row). Otherwise (massive ties) that query is rescanned.
template <typename acc_t>
void gemm_knn(const at::Tensor& p1, const at::Tensor& p2, const int64_t* l1p, const int64_t* l2p, int64_t K, acc_t* dp,
              int64_t* ip) {
  const int64_t N = p1.size(0), P1 = p1.size(1), D = p1.size(2);
  struct Cloud {
    at::Tensor Q;
    GemmPoints<acc_t> pts;
    int64_t m1, m2, Keff, Kc;
  };
  std::vector<Cloud> clouds(N);
  int64_t rows = 0;
  for (int64_t n = 0; n < N; ++n) {
    Cloud& c = clouds[n];
    c.m1 = l1p[n];
    c.m2 = l2p[n];
    c.Keff = std::min<int64_t>(K, c.m2);
    c.Kc = std::min<int64_t>(gemm_candidates(K), c.m2);
    if (c.m1 == 0 || c.Keff == 0) continue;
    c.Q = p1[n].narrow(0, 0, c.m1).contiguous();
    c.pts = GemmPoints<acc_t>(p2[n], c.m2);
    rows += c.m1;
  }
  // tasks: (cloud, block of B1 query rows); B1 shrinks so that every thread gets several
  constexpr int64_t B2 = 1024;
  const int64_t B1 = std::min<int64_t>(256, std::max<int64_t>(16, rows / (4 * at::get_num_threads()) + 1));
  std::vector<std::pair<int64_t, int64_t>> tasks;
  for (int64_t n = 0; n < N; ++n)
    if (clouds[n].Q.defined())
      for (int64_t r0 = 0; r0 < clouds[n].m1; r0 += B1) tasks.emplace_back(n, r0);
  using Key = SortKey<acc_t>;
  using key_t = typename Key::type;
  at::parallel_for(0, static_cast<int64_t>(tasks.size()), 1, [&](int64_t task_lo, int64_t task_hi) {
    at::Tensor G;
    std::vector<key_t> buf;
    std::vector<int64_t> cnt;
    std::vector<acc_t> thr;
    for (int64_t task = task_lo; task < task_hi; ++task) {
      const auto [n, r0] = tasks[task];
      const Cloud& c = clouds[n];
      const int64_t rb = std::min(B1, c.m1 - r0), Kc = c.Kc, Keff = c.Keff;
      const int64_t cap = gemm_buffer(Kc);
      if (!G.defined()) G = at::empty({B1, B2}, c.Q.options());
      buf.resize(static_cast<size_t>(rb * cap));
      cnt.assign(static_cast<size_t>(rb), 0);
      thr.assign(static_cast<size_t>(rb), std::numeric_limits<acc_t>::infinity());
      const auto Qb = c.Q.narrow(0, r0, rb);
      for (int64_t c0 = 0; c0 < c.m2; c0 += B2) {
        const int64_t cb = std::min(B2, c.m2 - c0);
        auto g = G.narrow(0, 0, rb).narrow(1, 0, cb);
        at::addmm_out(g, c.pts.xn.narrow(0, c0, cb).unsqueeze(0), Qb, c.pts.X.narrow(0, c0, cb).t(), 1, -2);
        const acc_t* gp = g.template const_data_ptr<acc_t>();
        const int64_t ld = g.stride(0);
        for (int64_t r = 0; r < rb; ++r)
          cnt[r] = filter_row<acc_t>(gp + r * ld, nullptr, cb, c0, buf.data() + r * cap, cnt[r], thr[r], cap, Kc);
      }
      // exact distances of the candidates decide; rescan where the margin does not prove it
      for (int64_t r = 0; r < rb; ++r) {
        const int64_t row = r0 + r, t = n * P1 + row;
        finish_gemm_row<acc_t>(c.Q.template const_data_ptr<acc_t>() + row * D,
                               c.pts.X.template const_data_ptr<acc_t>(), c.m2, D, Keff, Kc, c.pts.xmax,
                               buf.data() + r * cap, cnt[r], thr[r], dp + t * K, ip + t * K);
      }
    }
  });
}

template void gemm_knn<float>(const at::Tensor&, const at::Tensor&, const int64_t*, const int64_t*, int64_t, float*,
                              int64_t*);
template void gemm_knn<double>(const at::Tensor&, const at::Tensor&, const int64_t*, const int64_t*, int64_t, double*,
                               int64_t*);

}  // namespace knn
}  // namespace mg
