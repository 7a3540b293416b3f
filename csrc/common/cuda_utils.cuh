// CUDA launch helpers. All thread and offset arithmetic is int64: peers that index with int32 silently
// corrupt output once E * F passes 2^32.
#pragma once

#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAStream.h>
#include <algorithm>
#include <cstdint>

namespace mg {
namespace cuda {

constexpr int kThreads = 256;

// Enough blocks to cover n items with a grid-stride loop, capped so the grid is valid on every card.
inline unsigned int num_blocks(int64_t n, int threads = kThreads) {
  const int64_t blocks = (n + threads - 1) / threads;
  return static_cast<unsigned int>(std::max<int64_t>(1, std::min<int64_t>(blocks, int64_t{1} << 20)));
}

// Grid-stride loop over [0, n) with a 64-bit counter.
#define MG_CUDA_KERNEL_LOOP(i, n)                                                                      \
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < (n);              \
       i += static_cast<int64_t>(blockDim.x) * gridDim.x)

}  // namespace cuda
}  // namespace mg
