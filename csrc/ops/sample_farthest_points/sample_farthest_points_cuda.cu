// CUDA kernel for sample_farthest_points_idx (contract in sample_farthest_points.h): one block per cloud; each
// pick updates the distances with all threads and reduces (max, smallest index) through shared memory.
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/full.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include "../../common/cuda_utils.cuh"
#include "../../common/dispatch.h"
#include "sample_farthest_points.h"

namespace mg {
namespace fps {
namespace {

constexpr int kBlock = 512;

template <typename acc_t>
__global__ void fps_kernel(const acc_t* __restrict__ x, int64_t P, int64_t D, const int64_t* __restrict__ lengths,
                           const int64_t* __restrict__ K, const int64_t* __restrict__ start, int64_t max_K,
                           acc_t* __restrict__ dist, int64_t* __restrict__ idx) {
  __shared__ acc_t sd[kBlock];
  __shared__ int64_t si[kBlock];
  const int64_t n = blockIdx.x;
  const int64_t len = lengths[n];
  const int64_t picks = K[n] < len ? K[n] : len;
  if (picks <= 0) return;
  const acc_t* xc = x + n * P * D;
  acc_t* dc = dist + n * P;
  for (int64_t j = threadIdx.x; j < len; j += blockDim.x) dc[j] = INFINITY;
  int64_t last = start[n] < 0 ? 0 : (start[n] >= len ? len - 1 : start[n]);
  if (threadIdx.x == 0) idx[n * max_K] = last;
  __syncthreads();
  for (int64_t k = 1; k < picks; ++k) {
    acc_t bd = -1;
    int64_t bi = 0;
    for (int64_t j = threadIdx.x; j < len; j += blockDim.x) {
      acc_t d2 = 0;
      for (int64_t a = 0; a < D; ++a) {
        const acc_t d = xc[j * D + a] - xc[last * D + a];
        d2 += d * d;
      }
      const acc_t m = d2 < dc[j] ? d2 : dc[j];
      dc[j] = m;
      if (m > bd) {
        bd = m;
        bi = j;
      }
    }
    sd[threadIdx.x] = bd;
    si[threadIdx.x] = bi;
    __syncthreads();
    for (int off = blockDim.x / 2; off > 0; off /= 2) {
      if (threadIdx.x < off) {
        const acc_t od = sd[threadIdx.x + off];
        const int64_t oi = si[threadIdx.x + off];
        if (od > sd[threadIdx.x] || (od == sd[threadIdx.x] && oi < si[threadIdx.x])) {
          sd[threadIdx.x] = od;
          si[threadIdx.x] = oi;
        }
      }
      __syncthreads();
    }
    last = si[0];
    if (threadIdx.x == 0) idx[n * max_K + k] = last;
    __syncthreads();
  }
}

at::Tensor sample_farthest_points_idx_cuda(const at::Tensor& points, const at::Tensor& lengths, const at::Tensor& K,
                                           const at::Tensor& start, int64_t max_K) {
  check_fps_inputs(points, lengths, K, start, max_K);
  const c10::cuda::CUDAGuard guard(points.device());
  const int64_t N = points.size(0), P = points.size(1), D = points.size(2);
  auto idx = at::full({N, max_K}, -1, points.options().dtype(at::kLong));
  if (N == 0 || max_K == 0) return idx;
  const auto acc_type = knn::point_acc_type(points);
  const auto x = points.to(acc_type).contiguous();
  const auto l = knn::clamped_lengths(lengths, P);
  const auto k = K.to(at::kLong).clamp(0, max_K).contiguous();
  const auto s = start.to(at::kLong).contiguous();
  auto dist = at::empty({N, P}, x.options());
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "sample_farthest_points_idx_cuda", [&] {
    using acc_t = scalar_t;
    fps_kernel<acc_t><<<static_cast<unsigned int>(N), kBlock, 0, c10::cuda::getCurrentCUDAStream()>>>(
        x.const_data_ptr<acc_t>(), P, D, l.const_data_ptr<int64_t>(), k.const_data_ptr<int64_t>(),
        s.const_data_ptr<int64_t>(), max_K, dist.mutable_data_ptr<acc_t>(), idx.mutable_data_ptr<int64_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return idx;
}

}  // namespace
}  // namespace fps
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CUDA, m) {
  m.impl("sample_farthest_points_idx", &mg::fps::sample_farthest_points_idx_cuda);
}
