// CUDA kernel for random_walk (contract in random_walk.h): one thread per walk, the CPU's walk_one with the same
// counter-based draws. Start nodes are clamped into [0, N) (the CPU checks them); no atomics.
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include <tuple>

#include "../../common/cuda_utils.cuh"
#include "random_walk.h"

namespace mg {
namespace sampling {
namespace {

__global__ void random_walk_kernel(const int64_t* __restrict__ rowptr, const int64_t* __restrict__ col, int64_t N,
                                   int64_t E, const int64_t* __restrict__ start, int64_t S, int64_t walk_length,
                                   WalkParams wp, uint64_t seed, int64_t* __restrict__ nodes,
                                   int64_t* __restrict__ edges) {
  MG_CUDA_KERNEL_LOOP(n, S) {
    walk_one(rowptr, col, N, E, clamp_node(start[n], N), n, walk_length, wp, seed, nodes + n * (walk_length + 1),
             edges + n * walk_length);
  }
}

std::tuple<at::Tensor, at::Tensor> random_walk_cuda(const at::Tensor& rowptr, const at::Tensor& col,
                                                    const at::Tensor& start, int64_t walk_length, double p, double q,
                                                    int64_t rng_seed) {
  check_random_walk_inputs(rowptr, col, start, walk_length, p, q);
  const c10::cuda::CUDAGuard guard(rowptr.device());
  const int64_t N = rowptr.size(0) - 1, S = start.size(0);
  TORCH_CHECK(N > 0 || S == 0, "start must be empty on a graph without nodes");
  auto nodes = at::empty({S, walk_length + 1}, start.options());
  auto edges = at::empty({S, walk_length}, start.options());
  if (S == 0) return {nodes, edges};
  const auto rp = rowptr.contiguous(), cl = col.contiguous(), st = start.contiguous();
  random_walk_kernel<<<cuda::num_blocks(S), cuda::kThreads, 0, c10::cuda::getCurrentCUDAStream()>>>(
      rp.const_data_ptr<int64_t>(), cl.const_data_ptr<int64_t>(), N, col.size(0), st.const_data_ptr<int64_t>(), S,
      walk_length, walk_params(p, q), static_cast<uint64_t>(rng_seed), nodes.mutable_data_ptr<int64_t>(),
      edges.mutable_data_ptr<int64_t>());
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return {nodes, edges};
}

}  // namespace
}  // namespace sampling
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CUDA, m) {
  m.impl("random_walk", &mg::sampling::random_walk_cuda);
}
