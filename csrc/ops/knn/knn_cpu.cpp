// CPU kernel for knn_points_idx (contract in knn.h): parallel over the queries of all clouds.
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/zeros.h>
#include <torch/library.h>

#include "../../common/checks.h"
#include "../../common/dispatch.h"
#include "knn.h"

namespace mg {
namespace knn {
namespace {

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
    } else {
      // High D: scan the cloud with the running top K in the output row.
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
            const scalar_t* p = x2 + (n * P2 + j) * D;
            acc_t s = 0;
            for (int64_t a = 0; a < D; ++a) {
              const acc_t d = static_cast<acc_t>(q[a]) - static_cast<acc_t>(p[a]);
              s += norm == 1 ? (d < 0 ? -d : d) : d * d;
            }
            heap_offer(dp + t * K, ip + t * K, size, Keff, s, j);
          }
          heap_sort(dp + t * K, ip + t * K, size);
        }
      });
    }
  });
  return {dists.to(p1.scalar_type()), idx};
}

}  // namespace
}  // namespace knn
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CPU, m) { m.impl("knn_points_idx", &mg::knn::knn_points_idx_cpu); }
