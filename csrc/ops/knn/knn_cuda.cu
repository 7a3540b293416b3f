// CUDA kernels for knn_points_idx (contract in knn.h): D <= 3 one thread per query running the grid search of
// knn.h (shared host/device code); D > 3 a shared-memory tiled scan (below). The running top K is kept in the
// output row.
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
    grid_knn_row(t, q1, P1, D, l1, l2, params, pts, point_idx, cell_start, K, norm, dists, idx);
  }
}

// D > 3: a block of kQueries threads takes kQueries queries of one cloud and walks the cloud in tiles of kTileJ
// points; each tile is staged through shared memory kTileD coordinates at a time, so every point's coordinates
// are read from global memory once per block rather than once per query, and each thread keeps the tile's partial
// distances in registers. Distances sum in coordinate order; the running top K lives in the output row (any K).
constexpr int kQueries = 128, kTileJ = 32, kTileD = 32;

template <typename scalar_t, typename acc_t>
__global__ void __launch_bounds__(kQueries)
    scan_knn_kernel(const scalar_t* __restrict__ x1, const scalar_t* __restrict__ x2, int64_t N, int64_t P1,
                    int64_t P2, int64_t D, const int64_t* __restrict__ l1, const int64_t* __restrict__ l2, int64_t K,
                    int norm, acc_t* dists, int64_t* idx) {
  __shared__ acc_t tile[kTileJ][kTileD + 1];  // +1: no bank conflicts on the column-wise stores
  const int64_t chunks = (P1 + kQueries - 1) / kQueries;
  for (int64_t w = blockIdx.x; w < N * chunks; w += gridDim.x) {
    const int64_t n = w / chunks, i = (w - n * chunks) * kQueries + threadIdx.x;
    const int64_t m2 = l2[n];
    const int64_t Keff = K < m2 ? K : m2;
    const bool active = i < l1[n] && Keff > 0;  // inactive threads still help stage the tiles
    const int64_t t = n * P1 + i;
    int64_t size = 0;
    for (int64_t j0 = 0; j0 < m2; j0 += kTileJ) {
      const int jn = static_cast<int>(m2 - j0 < kTileJ ? m2 - j0 : kTileJ);
      acc_t part[kTileJ];
#pragma unroll
      for (int jj = 0; jj < kTileJ; ++jj) part[jj] = 0;
      for (int64_t a0 = 0; a0 < D; a0 += kTileD) {
        const int an = static_cast<int>(D - a0 < kTileD ? D - a0 : kTileD);
        __syncthreads();  // the previous tile is no longer read
        for (int e = threadIdx.x; e < kTileJ * kTileD; e += kQueries) {
          const int jj = e / kTileD, aa = e - jj * kTileD;
          tile[jj][aa] = (jj < jn && aa < an) ? static_cast<acc_t>(x2[(n * P2 + j0 + jj) * D + a0 + aa]) : acc_t(0);
        }
        __syncthreads();
        if (active) {
          for (int aa = 0; aa < an; ++aa) {
            const acc_t qa = static_cast<acc_t>(x1[t * D + a0 + aa]);
#pragma unroll
            for (int jj = 0; jj < kTileJ; ++jj) {
              const acc_t d = qa - tile[jj][aa];
              part[jj] += norm == 1 ? (d < 0 ? -d : d) : d * d;
            }
          }
        }
      }
      if (active) {
#pragma unroll  // static indices keep part[] in registers
        for (int jj = 0; jj < kTileJ; ++jj) {
          if (jj < jn) heap_offer(dists + t * K, idx + t * K, size, Keff, part[jj], j0 + jj);
        }
      }
    }
    if (active) heap_sort(dists + t * K, idx + t * K, size);
    __syncthreads();  // the next work item restages the tile
  }
}

std::tuple<at::Tensor, at::Tensor> knn_points_idx_cuda(const at::Tensor& p1, const at::Tensor& p2,
                                                       const at::Tensor& lengths1, const at::Tensor& lengths2,
                                                       int64_t K, int64_t norm) {
  check_knn_inputs(p1, p2, lengths1, lengths2, K, norm);
  const c10::cuda::CUDAGuard guard(p1.device());
  const int64_t N = p1.size(0), P1 = p1.size(1), P2 = p2.size(1), D = p1.size(2);
  const auto acc_type = point_acc_type(p1);
  auto dists = at::zeros({N, P1, K}, p1.options().dtype(acc_type));
  auto idx = at::zeros({N, P1, K}, p1.options().dtype(at::kLong));
  if (N == 0 || P1 == 0 || P2 == 0) return {dists.to(p1.scalar_type()), idx};  // nothing to search
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
      const int64_t work = N * ((P1 + kQueries - 1) / kQueries);  // (cloud, query chunk) items, one block each
      scan_knn_kernel<scalar_t, acc_t><<<cuda::num_blocks(work, 1), kQueries, 0, stream>>>(
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
