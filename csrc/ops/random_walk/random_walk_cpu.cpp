// CPU kernel for random_walk (contract in random_walk.h): walks in parallel, each a pure function of its index.
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <algorithm>
#include <tuple>

#include "random_walk.h"

namespace mg {
namespace sampling {
namespace {

std::tuple<at::Tensor, at::Tensor> random_walk_cpu(const at::Tensor& rowptr, const at::Tensor& col,
                                                   const at::Tensor& start, int64_t walk_length, double p, double q,
                                                   int64_t rng_seed) {
  check_random_walk_inputs(rowptr, col, start, walk_length, p, q);
  const int64_t N = rowptr.size(0) - 1, S = start.size(0);
  const auto rp = rowptr.contiguous(), cl = col.contiguous(), st = start.contiguous();
  const int64_t *rpp = rp.const_data_ptr<int64_t>(), *clp = cl.const_data_ptr<int64_t>(),
                *stp = st.const_data_ptr<int64_t>();
  for (int64_t n = 0; n < S; ++n)
    TORCH_CHECK(stp[n] >= 0 && stp[n] < N, "start must be in [0, ", N, "), got ", stp[n]);
  auto nodes = at::empty({S, walk_length + 1}, start.options());
  auto edges = at::empty({S, walk_length}, start.options());
  int64_t *np = nodes.mutable_data_ptr<int64_t>(), *ep = edges.mutable_data_ptr<int64_t>();
  const WalkParams wp = walk_params(p, q);
  const uint64_t seed = static_cast<uint64_t>(rng_seed);
  at::parallel_for(0, S, std::max<int64_t>(1, 4096 / (walk_length + 1)), [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n)
      walk_one(rpp, clp, N, col.size(0), stp[n], n, walk_length, wp, seed, np + n * (walk_length + 1), ep + n * walk_length);
  });
  return {nodes, edges};
}

}  // namespace
}  // namespace sampling
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CPU, m) {
  m.impl("random_walk", &mg::sampling::random_walk_cpu);
}
