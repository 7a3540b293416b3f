// CUDA kernel for neighbor_sample (contract in neighbor_sample.h; algorithm in neighbor_sample_device.h). One
// thread per frontier node runs NodeSampler::sample (the CPU's code, the same counter-based draws) into its slice
// of a buffer sized by the per-node bounds; a second kernel compacts the picks in frontier order. The induced
// edges (directed=False) are counted and written by one thread per node with a binary search over the sorted node
// keys. No atomics: the output is deterministic. Seeds are clamped into [0, N) (the CPU checks them).
#include <ATen/ATen.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include "../../common/cuda_utils.cuh"
#include "../../common/dispatch.h"
#include "neighbor_sample.h"
#include "neighbor_sample_device.h"

namespace mg {
namespace sampling {
namespace {

template <typename weight_t, typename stamp_t>
__global__ void bound_kernel(NodeSampler<weight_t, stamp_t> s, const int64_t* __restrict__ frontier, int64_t F,
                             int64_t k, int64_t* __restrict__ bounds) {
  MG_CUDA_KERNEL_LOOP(i, F) { bounds[i] = s.bound(frontier[i], k); }
}

template <typename weight_t, typename stamp_t>
__global__ void sample_kernel(NodeSampler<weight_t, stamp_t> s, const int64_t* __restrict__ frontier,
                              const int64_t* __restrict__ fbatch, int64_t F, int64_t k,
                              const stamp_t* __restrict__ seed_time, const int64_t* __restrict__ ends,
                              const int64_t* __restrict__ bounds, int64_t* __restrict__ buf,
                              int64_t* __restrict__ scratch, int64_t* __restrict__ cnt) {
  MG_CUDA_KERNEL_LOOP(i, F) {
    const int64_t b = fbatch ? fbatch[i] : 0, start = ends[i] - bounds[i];
    cnt[i] = s.sample(frontier[i], b, k, seed_time ? seed_time[b] : stamp_t(0), buf + start,
                      scratch ? scratch + start : nullptr);
  }
}

__global__ void compact_kernel(const int64_t* __restrict__ buf, const int64_t* __restrict__ ends,
                               const int64_t* __restrict__ bounds, const int64_t* __restrict__ cnt,
                               const int64_t* __restrict__ cnt_ends, int64_t F, int64_t first_row,
                               int64_t* __restrict__ edge, int64_t* __restrict__ row) {
  MG_CUDA_KERNEL_LOOP(i, F) {
    const int64_t from = ends[i] - bounds[i], to = cnt_ends[i] - cnt[i];
    for (int64_t t = 0; t < cnt[i]; ++t) {
      edge[to + t] = buf[from + t];
      row[to + t] = first_row + i;
    }
  }
}

// Position of key in sorted[0, M), or -1.
__device__ inline int64_t find_key(const int64_t* sorted, int64_t M, int64_t key) {
  int64_t lo = 0, hi = M;
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (sorted[mid] < key)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < M && sorted[lo] == key ? lo : -1;
}

// fill == false: counts[i] = induced edges of node i; fill == true: writes them at ends[i] - counts[i].
template <typename weight_t, typename stamp_t>
__global__ void induced_kernel(NodeSampler<weight_t, stamp_t> s, const int64_t* __restrict__ nodes,
                               const int64_t* __restrict__ batch, const int64_t* __restrict__ sorted,
                               const int64_t* __restrict__ order, int64_t M, bool fill, int64_t* __restrict__ counts,
                               const int64_t* __restrict__ ends, int64_t* __restrict__ row, int64_t* __restrict__ col,
                               int64_t* __restrict__ edge) {
  MG_CUDA_KERNEL_LOOP(i, M) {
    int64_t rs, re;
    s.range(nodes[i], rs, re);
    const int64_t base = batch ? batch[i] * s.N : 0;
    int64_t n = 0, at = fill ? ends[i] - counts[i] : 0;
    for (int64_t x = rs; x < re; ++x) {
      const int64_t j = find_key(sorted, M, base + clamp_node(s.col[x], s.N));
      if (j < 0) continue;
      if (fill) {
        row[at] = i;
        col[at] = order[j];
        edge[at++] = x;
      } else {
        ++n;
      }
    }
    if (!fill) counts[i] = n;
  }
}

inline int64_t last_or_zero(const at::Tensor& cumsum) {
  return cumsum.numel() ? cumsum[-1].item<int64_t>() : 0;
}

SampleOutputs neighbor_sample_cuda(const at::Tensor& rowptr, const at::Tensor& col, const at::Tensor& seeds,
                                   c10::IntArrayRef num_neighbors, bool replace, bool directed, bool disjoint,
                                   const std::optional<at::Tensor>& weight, const std::optional<at::Tensor>& time,
                                   const std::optional<at::Tensor>& seed_time, int64_t rng_seed) {
  check_neighbor_sample_inputs(rowptr, col, seeds, num_neighbors, disjoint, weight, time, seed_time);
  const c10::cuda::CUDAGuard guard(rowptr.device());
  const int64_t N = rowptr.size(0) - 1, B = seeds.size(0), E = col.size(0);
  TORCH_CHECK(N > 0 || B == 0, "seeds must be empty on a graph without nodes");
  const auto rp = rowptr.contiguous(), cl = col.contiguous();
  const auto sd = B ? seeds.clamp(0, N - 1).contiguous() : seeds.contiguous();
  const auto w = weight.has_value() ? weight->contiguous() : at::Tensor();
  const auto t = time.has_value() ? time->contiguous() : at::Tensor();
  const auto st = seed_time.has_value() ? seed_time->contiguous() : at::Tensor();
  const auto options = rowptr.options().dtype(at::kLong);
  const auto stream = c10::cuda::getCurrentCUDAStream();
  constexpr int T = cuda::kThreads;
  auto run = [&](auto weight_tag, auto time_tag) {
    using weight_t = decltype(weight_tag);
    using stamp_t = decltype(time_tag);
    const NodeSampler<weight_t, stamp_t> s{rp.const_data_ptr<int64_t>(), cl.const_data_ptr<int64_t>(), N, E,
                                           w.defined() ? w.const_data_ptr<weight_t>() : nullptr,
                                           t.defined() ? t.const_data_ptr<stamp_t>() : nullptr, replace,
                                           static_cast<uint64_t>(rng_seed)};
    const stamp_t* stp = st.defined() ? st.const_data_ptr<stamp_t>() : nullptr;
    auto sample_hop = [&](const at::Tensor& frontier, const at::Tensor& fbatch, int64_t k, int64_t first_row) {
      const auto f = frontier.contiguous();
      const auto fb = fbatch.defined() ? fbatch.contiguous() : at::Tensor();
      const int64_t F = f.size(0);
      auto edge = at::empty({0}, options), row = at::empty({0}, options);
      if (F == 0) return std::make_pair(edge, row);
      auto bounds = at::empty({F}, options);
      bound_kernel<<<cuda::num_blocks(F, T), T, 0, stream>>>(s, f.const_data_ptr<int64_t>(), F, k,
                                                             bounds.mutable_data_ptr<int64_t>());
      C10_CUDA_KERNEL_LAUNCH_CHECK();
      const auto ends = bounds.cumsum(0);
      const int64_t total = last_or_zero(ends);
      auto buf = at::empty({total}, options), cnt = at::empty({F}, options);
      // weighted sampling without replacement keeps each node's picks sorted in a scratch slice
      auto scratch = w.defined() && !replace ? at::empty({total}, options) : at::Tensor();
      sample_kernel<<<cuda::num_blocks(F, T), T, 0, stream>>>(
          s, f.const_data_ptr<int64_t>(), fb.defined() ? fb.const_data_ptr<int64_t>() : nullptr, F, k, stp,
          ends.const_data_ptr<int64_t>(), bounds.const_data_ptr<int64_t>(), buf.mutable_data_ptr<int64_t>(),
          scratch.defined() ? scratch.mutable_data_ptr<int64_t>() : nullptr, cnt.mutable_data_ptr<int64_t>());
      C10_CUDA_KERNEL_LAUNCH_CHECK();
      const auto cnt_ends = cnt.cumsum(0);
      const int64_t m = last_or_zero(cnt_ends);
      edge = at::empty({m}, options);
      row = at::empty({m}, options);
      compact_kernel<<<cuda::num_blocks(F, T), T, 0, stream>>>(
          buf.const_data_ptr<int64_t>(), ends.const_data_ptr<int64_t>(), bounds.const_data_ptr<int64_t>(),
          cnt.const_data_ptr<int64_t>(), cnt_ends.const_data_ptr<int64_t>(), F, first_row,
          edge.mutable_data_ptr<int64_t>(), row.mutable_data_ptr<int64_t>());
      C10_CUDA_KERNEL_LAUNCH_CHECK();
      return std::make_pair(edge, row);
    };
    auto induced = [&](const at::Tensor& nodes, const at::Tensor& batch, const at::Tensor& sorted,
                       const at::Tensor& order) {
      const int64_t M = nodes.size(0);
      const int64_t* bp = batch.numel() ? batch.const_data_ptr<int64_t>() : nullptr;
      auto counts = at::empty({M}, options);
      if (M == 0) return std::make_tuple(counts, at::empty({0}, options), at::empty({0}, options));
      induced_kernel<<<cuda::num_blocks(M, T), T, 0, stream>>>(
          s, nodes.const_data_ptr<int64_t>(), bp, sorted.const_data_ptr<int64_t>(), order.const_data_ptr<int64_t>(),
          M, false, counts.mutable_data_ptr<int64_t>(), nullptr, nullptr, nullptr, nullptr);
      C10_CUDA_KERNEL_LAUNCH_CHECK();
      const auto ends = counts.cumsum(0);
      const int64_t total = last_or_zero(ends);
      auto row = at::empty({total}, options), colx = at::empty({total}, options), edge = at::empty({total}, options);
      induced_kernel<<<cuda::num_blocks(M, T), T, 0, stream>>>(
          s, nodes.const_data_ptr<int64_t>(), bp, sorted.const_data_ptr<int64_t>(), order.const_data_ptr<int64_t>(),
          M, true, counts.mutable_data_ptr<int64_t>(), ends.const_data_ptr<int64_t>(), row.mutable_data_ptr<int64_t>(),
          colx.mutable_data_ptr<int64_t>(), edge.mutable_data_ptr<int64_t>());
      C10_CUDA_KERNEL_LAUNCH_CHECK();
      return std::make_tuple(row, colx, edge);
    };
    return sample_by_hops(cl, sd, N, num_neighbors, directed, disjoint, sample_hop, induced);
  };
  auto with_time = [&](auto weight_tag) {
    if (t.defined() && t.scalar_type() == at::kDouble) return run(weight_tag, double{});
    return run(weight_tag, int64_t{});
  };
  if (!w.defined()) return with_time(float{});
  SampleOutputs out;
  MG_DISPATCH_FLOATING_TYPES(w.scalar_type(), "neighbor_sample_cuda", [&] { out = with_time(scalar_t{}); });
  return out;
}

}  // namespace
}  // namespace sampling
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CUDA, m) {
  m.impl("neighbor_sample", &mg::sampling::neighbor_sample_cuda);
}
