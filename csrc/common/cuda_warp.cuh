// Warp-per-item CUDA kernels (one 32-lane warp per CSR entry: lanes stride over the features, then a shuffle
// reduction): the warp size, the grid for `items` warps, the 64-bit warp-stride loop, the lane sum, and the row
// owning a CSR entry. Used by gather_scatter (edge_dot, the max/min weight gradient) and spline_weighting
// (grad_basis).
#pragma once

#include <cstdint>

#include "cuda_utils.cuh"
#include "index_math.h"

namespace mg {
namespace cuda {

constexpr int kWarp = 32;

// Blocks of kThreads threads for one warp per item, capped as num_blocks (the loop below strides past the cap).
inline unsigned int warp_blocks(int64_t items) { return num_blocks(items * kWarp); }

// This thread's lane within its warp.
__device__ __forceinline__ int warp_lane() { return static_cast<int>(threadIdx.x % kWarp); }

// Sum of v over the 32 lanes of a full warp, in lane 0 (a fixed shuffle tree: the same order on every run).
template <typename acc_t>
__device__ __forceinline__ acc_t warp_sum(acc_t v) {
  for (int o = kWarp / 2; o > 0; o /= 2) v += __shfl_down_sync(0xffffffffu, v, o);
  return v;
}

// Warp-stride loop over items [0, n) with a 64-bit counter: every lane of a warp sees the same k, so the loop
// bounds are warp-uniform (as warp_sum needs).
#define MG_CUDA_WARP_LOOP(k, n)                                                                                      \
  for (int64_t k = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / ::mg::cuda::kWarp; k < (n);      \
       k += static_cast<int64_t>(gridDim.x) * blockDim.x / ::mg::cuda::kWarp)

// The CSR row (of `rows` rows) owning entry k: r with rowptr[r] <= k < rowptr[r + 1], or -1 when no row does
// (unsorted row pointers are not checked on CUDA). Reads rowptr[0, rows] only (row_of_entry searches [0, rows)).
__device__ __forceinline__ int64_t owning_row(const int64_t* rowptr, int64_t rows, int64_t k) {
  const int64_t r = row_of_entry(rowptr, rows, k);
  return r >= 0 && rowptr[r] <= k && k < rowptr[r + 1] ? r : -1;
}

}  // namespace cuda
}  // namespace mg
