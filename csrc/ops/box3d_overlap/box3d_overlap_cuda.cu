// CUDA kernel for box3d_overlap (contract in box3d_overlap.h): one thread per (n, m) pair, the shared
// C10_HOST_DEVICE overlap_pair of box3d_overlap.h (bit-identical to the CPU kernel: no FP contraction). Each thread
// reads its two boxes (48 values) and writes two outputs: no atomics, no syncs.
#include <ATen/Dispatch.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include <tuple>

#include "../../common/cuda_utils.cuh"
#include "../../common/dispatch.h"
#include "box3d_overlap.h"

namespace mg {
namespace box3d {
namespace {

template <typename scalar_t, typename T>
__global__ void box3d_overlap_kernel(const scalar_t* __restrict__ a, const scalar_t* __restrict__ b, int64_t N,
                                     int64_t M, T rel_tol, scalar_t* __restrict__ vol, scalar_t* __restrict__ iou) {
  MG_CUDA_KERNEL_LOOP(k, N * M) {
    const int64_t n = k / M, m = k % M;
    overlap_pair<scalar_t, T>(a + 24 * n, b + 24 * m, rel_tol, vol + k, iou + k);
  }
}

std::tuple<at::Tensor, at::Tensor> box3d_overlap_cuda(const at::Tensor& boxes1, const at::Tensor& boxes2) {
  const Call c = prepare(boxes1, boxes2);
  const c10::cuda::CUDAGuard guard(boxes1.device());
  if (c.empty()) return {c.vol, c.iou};
  MG_DISPATCH_FLOATING_TYPES(boxes1.scalar_type(), "box3d_overlap_cuda", [&] {
    using T = mg::acc_t<scalar_t>;
    // Box<T> twice plus two polygon buffers live in each thread's registers / local memory: 128 threads a block
    box3d_overlap_kernel<scalar_t, T><<<cuda::num_blocks(c.N * c.M, 128), 128, 0, c10::cuda::getCurrentCUDAStream()>>>(
        c.a.const_data_ptr<scalar_t>(), c.b.const_data_ptr<scalar_t>(), c.N, c.M, coplanar_rel_tol<scalar_t, T>(),
        c.vol.mutable_data_ptr<scalar_t>(), c.iou.mutable_data_ptr<scalar_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return {c.vol, c.iou};
}

}  // namespace
}  // namespace box3d
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CUDA, m) { m.impl("box3d_overlap", &mg::box3d::box3d_overlap_cuda); }
