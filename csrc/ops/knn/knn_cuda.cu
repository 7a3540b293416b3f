// CUDA kernel for knn_points_idx (contract in knn.h): one thread per query, the same grid search as the CPU
// (shared host/device code in knn.h), the running top K kept in the output row.
#include <ATen/core/Tensor.h>
#include <ATen/ops/zeros.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include "../../common/checks.h"
#include "../../common/cuda_utils.cuh"
#include "../../common/dispatch.h"
#include "knn.h"

namespace mg {
namespace knn {
namespace {

template <typename acc_t>
__global__ void grid_knn_kernel(const acc_t* __restrict__ q1, int64_t N, int64_t P1, int64_t D,
                                const int64_t* __restrict__ l1, const int64_t* __restrict__ l2, const acc_t* params,
                                const acc_t* pts, const int64_t* point_idx, const int64_t* cell_start, int64_t K,
                                int norm, acc_t* dists, int64_t* idx) {
  MG_CUDA_KERNEL_LOOP(t, N * P1) {
    const int64_t n = t / P1, i = t - n * P1;
    const int64_t Keff = K < l2[n] ? K : l2[n];
    if (i >= l1[n] || Keff == 0) continue;
    acc_t q[3] = {0, 0, 0};
    for (int64_t a = 0; a < D; ++a) q[a] = q1[t * D + a];
    int64_t size = 0;
    grid_search(q, params + 8 * n, pts, point_idx, cell_start, Keff, norm, dists + t * K, idx + t * K, size);
    heap_sort(dists + t * K, idx + t * K, size);
  }
}

template <typename scalar_t, typename acc_t>
__global__ void scan_knn_kernel(const scalar_t* __restrict__ x1, const scalar_t* __restrict__ x2, int64_t N, int64_t P1,
                                int64_t P2, int64_t D, const int64_t* __restrict__ l1, const int64_t* __restrict__ l2,
                                int64_t K, int norm, acc_t* dists, int64_t* idx) {
  MG_CUDA_KERNEL_LOOP(t, N * P1) {
    const int64_t n = t / P1, i = t - n * P1;
    const int64_t Keff = K < l2[n] ? K : l2[n];
    if (i >= l1[n] || Keff == 0) continue;
    int64_t size = 0;
    for (int64_t j = 0; j < l2[n]; ++j) {
      acc_t s = 0;
      for (int64_t a = 0; a < D; ++a) {
        const acc_t d = static_cast<acc_t>(x1[t * D + a]) - static_cast<acc_t>(x2[(n * P2 + j) * D + a]);
        s += norm == 1 ? (d < 0 ? -d : d) : d * d;
      }
      heap_offer(dists + t * K, idx + t * K, size, Keff, s, j);
    }
    heap_sort(dists + t * K, idx + t * K, size);
  }
}

std::tuple<at::Tensor, at::Tensor> knn_points_idx_cuda(const at::Tensor& p1, const at::Tensor& p2,
                                                       const at::Tensor& lengths1, const at::Tensor& lengths2,
                                                       int64_t K, int64_t norm) {
  check_knn_inputs(p1, p2, K, norm);
  const c10::cuda::CUDAGuard guard(p1.device());
  const int64_t N = p1.size(0), P1 = p1.size(1), P2 = p2.size(1), D = p1.size(2);
  const auto acc_type = point_acc_type(p1);
  auto dists = at::zeros({N, P1, K}, p1.options().dtype(acc_type));
  auto idx = at::zeros({N, P1, K}, p1.options().dtype(at::kLong));
  if (N == 0 || P1 == 0) return {dists.to(p1.scalar_type()), idx};
  const auto l1 = clamped_lengths(lengths1, P1);
  const auto l2 = clamped_lengths(lengths2, P2);
  const auto stream = c10::cuda::getCurrentCUDAStream();
  MG_DISPATCH_FLOATING_TYPES(p1.scalar_type(), "knn_points_idx_cuda", [&] {
    using acc_t = mg::acc_t<scalar_t>;
    if (D <= 3) {
      const Grid g = build_grid(p2, l2, acc_type, cell_occupancy(K));
      const auto q1 = p1.to(acc_type).contiguous();
      grid_knn_kernel<acc_t><<<cuda::num_blocks(N * P1, 128), 128, 0, stream>>>(
          q1.const_data_ptr<acc_t>(), N, P1, D, l1.const_data_ptr<int64_t>(), l2.const_data_ptr<int64_t>(),
          g.params.const_data_ptr<acc_t>(), g.pts.const_data_ptr<acc_t>(), g.point_idx.const_data_ptr<int64_t>(),
          g.cell_start.const_data_ptr<int64_t>(), K, static_cast<int>(norm), dists.mutable_data_ptr<acc_t>(),
          idx.mutable_data_ptr<int64_t>());
    } else {
      const auto a1 = p1.contiguous(), a2 = p2.contiguous();
      scan_knn_kernel<scalar_t, acc_t><<<cuda::num_blocks(N * P1, 128), 128, 0, stream>>>(
          a1.const_data_ptr<scalar_t>(), a2.const_data_ptr<scalar_t>(), N, P1, P2, D, l1.const_data_ptr<int64_t>(),
          l2.const_data_ptr<int64_t>(), K, static_cast<int>(norm), dists.mutable_data_ptr<acc_t>(),
          idx.mutable_data_ptr<int64_t>());
    }
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return {dists.to(p1.scalar_type()), idx};
}

}  // namespace
}  // namespace knn
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CUDA, m) { m.impl("knn_points_idx", &mg::knn::knn_points_idx_cuda); }
