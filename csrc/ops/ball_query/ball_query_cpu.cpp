// CPU kernel for ball_query_idx (contract in ball_query.h): parallel over the queries of all clouds.
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/full.h>
#include <torch/library.h>

#include <cmath>

#include "../../common/dispatch.h"
#include "ball_query.h"

namespace mg {
namespace ball {
namespace {

at::Tensor ball_query_idx_cpu(const at::Tensor& p1, const at::Tensor& p2, const at::Tensor& lengths1,
                              const at::Tensor& lengths2, int64_t K, double radius) {
  knn::check_knn_inputs(p1, p2, lengths1, lengths2, K, 2);
  TORCH_CHECK(radius > 0, "radius must be positive");
  const int64_t N = p1.size(0), P1 = p1.size(1), P2 = p2.size(1), D = p1.size(2);
  auto idx = at::full({N, P1, K}, -1, p1.options().dtype(at::kLong));
  if (N == 0 || P1 == 0 || P2 == 0) return idx;  // nothing to search
  const auto acc_type = knn::point_acc_type(p1);
  const auto l1 = knn::clamped_lengths(lengths1, P1);
  const auto l2 = knn::clamped_lengths(lengths2, P2);
  const int64_t* l1p = l1.const_data_ptr<int64_t>();
  const int64_t* l2p = l2.const_data_ptr<int64_t>();
  int64_t* ip = idx.mutable_data_ptr<int64_t>();
  const auto q1 = p1.to(acc_type).contiguous();
  const auto q2 = p2.to(acc_type).contiguous();
  AT_DISPATCH_FLOATING_TYPES(q1.scalar_type(), "ball_query_idx_cpu", [&] {
    using acc_t = scalar_t;  // float or double
    const acc_t* x1 = q1.const_data_ptr<acc_t>();
    const acc_t* x2 = q2.const_data_ptr<acc_t>();
    const acc_t r2 = static_cast<acc_t>(radius) * static_cast<acc_t>(radius);
    knn::Grid g;
    const acc_t* params = nullptr;
    if (D <= 3) {
      g = knn::build_grid(p2, l2, acc_type, 2.0);
      params = g.params.const_data_ptr<acc_t>();
    }
    at::parallel_for(0, N * P1, 64, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        const int64_t n = t / P1, i = t - n * P1;
        if (i >= l1p[n] || l2p[n] == 0) continue;
        int64_t* row = ip + t * K;
        const acc_t* q = x1 + t * D;
        if (D <= 3) {
          const acc_t* pn = params + 8 * n;
          const acc_t s = pn[3];
          // cells the ball spans, in floating point (a tiny cell size must not overflow int64): scan if too many
          const double reach_f = std::ceil(static_cast<double>(radius) / static_cast<double>(s));
          const double cells = std::pow(2.0 * reach_f + 1.0, static_cast<double>(D));
          if (cells <= static_cast<double>(l2p[n])) {
            acc_t q3[3] = {0, 0, 0};
            for (int64_t a = 0; a < D; ++a) q3[a] = q[a];
            grid_ball(q3, pn, g.pts.const_data_ptr<acc_t>(), g.point_idx.const_data_ptr<int64_t>(),
                      g.cell_start.const_data_ptr<int64_t>(), K, static_cast<acc_t>(radius), r2, row);
            continue;
          }
        }
        // Index-order scan with early exit at the K-th hit (large balls, or D > 3).
        int64_t found = 0;
        for (int64_t j = 0; j < l2p[n] && found < K; ++j) {
          const acc_t* p = x2 + (n * P2 + j) * D;
          acc_t d2 = 0;
          for (int64_t a = 0; a < D; ++a) {
            const acc_t d = q[a] - p[a];
            d2 += d * d;
          }
          if (d2 <= r2) row[found++] = j;
        }
      }
    });
  });
  return idx;
}

}  // namespace
}  // namespace ball
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CPU, m) { m.impl("ball_query_idx", &mg::ball::ball_query_idx_cpu); }
