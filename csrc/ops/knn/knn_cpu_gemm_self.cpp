// knn_points_idx on CPU, D > 3, norm 2, float/double, p1 is p2: the GEMM path on symmetric blocks (knn_cpu.h).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>

#include <algorithm>
#include <array>
#include <limits>
#include <mutex>
#include <vector>

#include "../../common/index_math.h"
#include "knn_cpu_candidates.h"

namespace mg {
namespace knn {

// Self query of the GEMM path (p1 is p2, equal lengths): the dot products of a cloud with itself are symmetric,
// so only the blocks I <= J of B x B query/point blocks are computed (half the GEMM work). Block (I, J) feeds the
// rows of I (columns J, values |x_b|^2 - 2 x_a.x_b) and, transposed, the rows of J (columns I, the same dot
// products with |x_a|^2). All rows keep their candidate buffers until every block is done; a lock per row block
// orders the updates of two tasks that share it. Then each row finishes as in gemm_knn.
template <typename acc_t>
bool gemm_knn_self(const at::Tensor& p, const int64_t* lp, int64_t K, acc_t* dp, int64_t* ip) {
  const int64_t N = p.size(0), P = p.size(1), D = p.size(2);
  constexpr int64_t B = 512;
  using key_t = typename SortKey<acc_t>::type;
  const int64_t Kc_max = gemm_candidates(K), cap = gemm_buffer(Kc_max);
  int64_t rows = 0;
  for (int64_t n = 0; n < N; ++n) rows += lp[n];
  // every row's buffer at once: only when that stays modest
  if (static_cast<double>(rows) * static_cast<double>(cap) * sizeof(key_t) > 256.0 * (1 << 20)) return false;
  std::vector<int64_t> row0(N + 1, 0);
  for (int64_t n = 0; n < N; ++n) row0[n + 1] = row0[n] + lp[n];
  std::vector<key_t> buf(static_cast<size_t>(std::max<int64_t>(rows, 1) * cap));
  std::vector<int64_t> cnt(static_cast<size_t>(std::max<int64_t>(rows, 1)), 0);
  std::vector<acc_t> thr(static_cast<size_t>(std::max<int64_t>(rows, 1)), std::numeric_limits<acc_t>::infinity());
  std::vector<GemmPoints<acc_t>> cloud(N);
  std::vector<int64_t> block0(N + 1, 0);  // global index of each cloud's first row block (one lock each)
  std::vector<std::array<int64_t, 3>> tasks;  // (cloud, I, J)
  for (int64_t n = 0; n < N; ++n) {
    const int64_t m = lp[n], nb = (m + B - 1) / B;
    block0[n + 1] = block0[n] + nb;
    if (m == 0) continue;
    cloud[n] = GemmPoints<acc_t>(p[n], m);
    for (int64_t I = 0; I < nb; ++I)
      for (int64_t J = I; J < nb; ++J) tasks.push_back({n, I, J});
  }
  std::vector<std::mutex> locks(static_cast<size_t>(std::max<int64_t>(block0[N], 1)));
  at::parallel_for(0, static_cast<int64_t>(tasks.size()), 1, [&](int64_t lo, int64_t hi) {
    at::Tensor G;
    for (int64_t task = lo; task < hi; ++task) {
      const auto [n, I, J] = tasks[task];
      const int64_t m = lp[n], Kc = std::min<int64_t>(Kc_max, m);
      const int64_t a0 = I * B, ra = std::min(B, m - a0), b0 = J * B, rb = std::min(B, m - b0);
      const at::Tensor& X = cloud[n].X;
      if (!G.defined()) G = at::empty({B, B}, X.options());
      auto g = G.narrow(0, 0, ra).narrow(1, 0, rb);
      at::mm_out(g, X.narrow(0, a0, ra), X.narrow(0, b0, rb).t());
      const acc_t* gp = g.template const_data_ptr<acc_t>();
      const int64_t ld = g.stride(0);
      const acc_t* xnp = cloud[n].xn.template const_data_ptr<acc_t>();
      {
        std::lock_guard<std::mutex> hold(locks[block0[n] + I]);
        for (int64_t a = 0; a < ra; ++a) {
          const int64_t r = row0[n] + a0 + a;
          cnt[r] = filter_row<acc_t>(gp + a * ld, xnp + b0, rb, b0, buf.data() + r * cap, cnt[r], thr[r], cap, Kc);
        }
      }
      if (J != I) {
        std::lock_guard<std::mutex> hold(locks[block0[n] + J]);
        const int64_t r = row0[n] + b0;
        filter_cols<acc_t>(gp, ld, ra, rb, xnp + a0, a0, buf.data() + r * cap, cnt.data() + r, thr.data() + r, cap,
                           Kc);
      }
    }
  });
  at::parallel_for(0, rows, 16, [&](int64_t lo, int64_t hi) {
    int64_t n = mg::row_of_entry(row0.data(), static_cast<int64_t>(row0.size()) - 1, lo);
    for (int64_t r = lo; r < hi; ++r) {
      while (r >= row0[n + 1]) ++n;
      const int64_t m = lp[n], i = r - row0[n], t = n * P + i;
      const acc_t* xp = cloud[n].X.template const_data_ptr<acc_t>();
      finish_gemm_row<acc_t>(xp + i * D, xp, m, D, std::min(K, m), std::min<int64_t>(Kc_max, m), cloud[n].xmax,
                             buf.data() + r * cap, cnt[r], thr[r], dp + t * K, ip + t * K);
    }
  });
  return true;
}

template bool gemm_knn_self<float>(const at::Tensor&, const int64_t*, int64_t, float*, int64_t*);
template bool gemm_knn_self<double>(const at::Tensor&, const int64_t*, int64_t, double*, int64_t*);

}  // namespace knn
}  // namespace mg
