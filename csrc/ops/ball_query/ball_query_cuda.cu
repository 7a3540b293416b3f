// CUDA kernel for ball_query_idx (contract in ball_query.h): one thread per query, the same grid search as the
// CPU (shared host/device code in ball_query.h / knn.h).
#include <ATen/core/Tensor.h>
#include <ATen/ops/full.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include <cmath>

#include "../../common/cuda_utils.cuh"
#include "../../common/dispatch.h"
#include "ball_query.h"

namespace mg {
namespace ball {
namespace {

template <typename acc_t>
__global__ void ball_query_kernel(const acc_t* __restrict__ x1, const acc_t* __restrict__ x2, int64_t N, int64_t P1,
                                  int64_t P2, int64_t D, const int64_t* __restrict__ l1, const int64_t* __restrict__ l2,
                                  const acc_t* params, const acc_t* pts, const int64_t* point_idx,
                                  const int64_t* cell_start, int64_t K, double radius, int64_t* idx) {
  const acc_t r2 = static_cast<acc_t>(radius) * static_cast<acc_t>(radius);
  MG_CUDA_KERNEL_LOOP(t, N * P1) {
    const int64_t n = t / P1, i = t - n * P1;
    if (i >= l1[n] || l2[n] == 0) continue;
    int64_t* row = idx + t * K;
    const acc_t* q = x1 + t * D;
    if (params != nullptr) {
      const acc_t* pn = params + 8 * n;
      const double reach_f = ceil(radius / static_cast<double>(pn[3]));
      const double cells = pow(2.0 * reach_f + 1.0, static_cast<double>(D));
      if (cells <= static_cast<double>(l2[n])) {
        acc_t q3[3] = {0, 0, 0};
        for (int64_t a = 0; a < D; ++a) q3[a] = q[a];
        grid_ball(q3, pn, pts, point_idx, cell_start, K, static_cast<acc_t>(radius), r2, row);
        continue;
      }
    }
    int64_t found = 0;
    for (int64_t j = 0; j < l2[n] && found < K; ++j) {
      acc_t d2 = 0;
      for (int64_t a = 0; a < D; ++a) {
        const acc_t d = q[a] - x2[(n * P2 + j) * D + a];
        d2 += d * d;
      }
      if (d2 <= r2) row[found++] = j;
    }
  }
}

at::Tensor ball_query_idx_cuda(const at::Tensor& p1, const at::Tensor& p2, const at::Tensor& lengths1,
                               const at::Tensor& lengths2, int64_t K, double radius) {
  knn::check_knn_inputs(p1, p2, lengths1, lengths2, K, 2);
  TORCH_CHECK(radius > 0, "radius must be positive");
  const c10::cuda::CUDAGuard guard(p1.device());
  const int64_t N = p1.size(0), P1 = p1.size(1), P2 = p2.size(1), D = p1.size(2);
  auto idx = at::full({N, P1, K}, -1, p1.options().dtype(at::kLong));
  if (N == 0 || P1 == 0 || P2 == 0) return idx;  // nothing to search
  const auto acc_type = knn::point_acc_type(p1);
  const auto l1 = knn::clamped_lengths(lengths1, P1);
  const auto l2 = knn::clamped_lengths(lengths2, P2);
  const auto q1 = p1.to(acc_type).contiguous();
  const auto q2 = p2.to(acc_type).contiguous();
  AT_DISPATCH_FLOATING_TYPES(q1.scalar_type(), "ball_query_idx_cuda", [&] {
    using acc_t = scalar_t;
    knn::Grid g;
    if (D <= 3) g = knn::build_grid(p2, l2, acc_type, 2.0);
    ball_query_kernel<acc_t><<<cuda::num_blocks(N * P1, 128), 128, 0, c10::cuda::getCurrentCUDAStream()>>>(
        q1.const_data_ptr<acc_t>(), q2.const_data_ptr<acc_t>(), N, P1, P2, D, l1.const_data_ptr<int64_t>(),
        l2.const_data_ptr<int64_t>(), D <= 3 ? g.params.const_data_ptr<acc_t>() : nullptr,
        D <= 3 ? g.pts.const_data_ptr<acc_t>() : nullptr, D <= 3 ? g.point_idx.const_data_ptr<int64_t>() : nullptr,
        D <= 3 ? g.cell_start.const_data_ptr<int64_t>() : nullptr, K, radius, idx.mutable_data_ptr<int64_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return idx;
}

}  // namespace
}  // namespace ball
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CUDA, m) { m.impl("ball_query_idx", &mg::ball::ball_query_idx_cuda); }
