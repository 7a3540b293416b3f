// CUDA kernel for graclus (contract in graclus.h): rounds of colouring, proposal, response and apply. Every phase
// reads what the previous phase wrote and writes its own array, so no thread reads a value another thread of the
// same launch writes: the matching depends only on the inputs and the seed.
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/full.h>
#include <ATen/ops/zeros.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include "../../common/cuda_utils.cuh"
#include "../../common/dispatch.h"
#include "graclus.h"

namespace mg {
namespace graclus {
namespace {

// State of a node in `out` while unmatched: kBlue / kRed for this round (>= 0 once matched).
constexpr int64_t kBlue = -1, kRed = -2;
// proposal / response values besides a node index: nothing this round, or no eligible unmatched neighbour at all.
constexpr int64_t kNone = -1, kLonely = -3;
constexpr int kRoundsPerCheck = 4;
constexpr int64_t kMaxRounds = 4096;

// splitmix64 of (seed, round, node): the colour of an unmatched node in a round.
__device__ __forceinline__ bool is_blue(uint64_t seed, int64_t round, int64_t node) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(round + 1) +
               0xD1B54A32D192ED03ull * static_cast<uint64_t>(node);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * (1.0 / 9007199254740992.0) < kBlueProbability;
}

__global__ void colour_kernel(int64_t* out, int64_t V, uint64_t seed, int64_t round) {
  MG_CUDA_KERNEL_LOOP(i, V) {
    if (out[i] < 0) out[i] = is_blue(seed, round, i) ? kBlue : kRed;
  }
}

// The entry range of row i, clamped into [0, E].
__device__ __forceinline__ void row_range(const int64_t* rowptr, int64_t i, int64_t E, int64_t& begin, int64_t& end) {
  begin = rowptr[i] < 0 ? 0 : (rowptr[i] > E ? E : rowptr[i]);
  end = rowptr[i + 1] < begin ? begin : (rowptr[i + 1] > E ? E : rowptr[i + 1]);
}

// One pass over row i: among the eligible unmatched neighbours (v != i, v in [0, V), weight >= 0) with
// `want(v)`, the first (unweighted) or the heaviest (ties: the last). Returns it, kNone if there is an eligible
// unmatched neighbour but none is wanted, kLonely if there is no eligible unmatched neighbour.
template <typename index_t, typename scalar_t, typename Want>
__device__ __forceinline__ int64_t pick(const int64_t* rowptr, const index_t* col, const scalar_t* weight,
                                        const int64_t* out, int64_t i, int64_t V, int64_t E, Want want) {
  using acc = acc_t<scalar_t>;
  int64_t begin, end;
  row_range(rowptr, i, E, begin, end);
  bool any_unmatched = false;
  int64_t best = kNone;
  acc w_best = 0;
  for (int64_t e = begin; e < end; ++e) {
    const int64_t v = col[e];
    if (v < 0 || v >= V || v == i || out[v] >= 0) continue;
    if (weight != nullptr) {
      const acc w = static_cast<acc>(weight[e]);
      if (!(w >= 0)) continue;
      any_unmatched = true;
      if (want(v) && w >= w_best) {
        best = v;
        w_best = w;
      }
    } else {
      any_unmatched = true;
      if (want(v)) return v;
    }
  }
  return any_unmatched ? best : kLonely;
}

template <typename index_t, typename scalar_t>
__global__ void propose_kernel(const int64_t* rowptr, const index_t* col, const scalar_t* weight, const int64_t* out,
                               int64_t* proposal, int64_t V, int64_t E) {
  MG_CUDA_KERNEL_LOOP(i, V) {
    if (out[i] != kBlue) continue;
    proposal[i] = pick(rowptr, col, weight, out, i, V, E, [&](int64_t v) { return out[v] == kRed; });
  }
}

template <typename index_t, typename scalar_t>
__global__ void respond_kernel(const int64_t* rowptr, const index_t* col, const scalar_t* weight, const int64_t* out,
                               const int64_t* proposal, int64_t* response, int64_t V, int64_t E) {
  MG_CUDA_KERNEL_LOOP(i, V) {
    if (out[i] != kRed) continue;
    response[i] = pick(rowptr, col, weight, out, i, V, E,
                       [&](int64_t v) { return out[v] == kBlue && proposal[v] == i; });
  }
}

__global__ void apply_kernel(int64_t* out, const int64_t* proposal, const int64_t* response, int64_t V) {
  MG_CUDA_KERNEL_LOOP(i, V) {
    const int64_t state = out[i];
    if (state == kRed) {
      const int64_t r = response[i];
      out[i] = r >= 0 ? (r < i ? r : i) : (r == kLonely ? i : kRed);
    } else if (state == kBlue) {
      const int64_t p = proposal[i];
      if (p >= 0 && response[p] == i) out[i] = p < i ? p : i;
      else if (p == kLonely) out[i] = i;
    }
  }
}

__global__ void any_unmatched_kernel(const int64_t* out, int64_t V, int32_t* flag) {
  MG_CUDA_KERNEL_LOOP(i, V) {
    if (out[i] < 0) *flag = 1;  // every writer stores the same value
  }
}

__global__ void singletons_kernel(int64_t* out, int64_t V) {
  MG_CUDA_KERNEL_LOOP(i, V) {
    if (out[i] < 0) out[i] = i;
  }
}

at::Tensor graclus_cuda(const at::Tensor& rowptr_in, const at::Tensor& col_in, const std::optional<at::Tensor>& weight,
                        int64_t seed) {
  check_graclus_inputs(rowptr_in, col_in, weight);
  const c10::cuda::CUDAGuard guard(col_in.device());
  const int64_t V = rowptr_in.size(0) - 1, E = col_in.size(0);
  auto out = at::full({V}, kRed, col_in.options().dtype(at::kLong));
  if (V == 0) return out;
  const at::Tensor rowptr = rowptr_in.contiguous(), col = col_in.contiguous();
  auto proposal = at::full({V}, kNone, out.options());
  auto response = at::full({V}, kNone, out.options());
  auto flag = at::zeros({1}, out.options().dtype(at::kInt));
  const bool weighted = weight.has_value() && weight->defined();
  const at::Tensor w = weighted ? weight->contiguous() : at::Tensor();
  const auto stream = c10::cuda::getCurrentCUDAStream();
  const unsigned int blocks = cuda::num_blocks(V);
  const uint64_t useed = static_cast<uint64_t>(seed);
  int64_t* outp = out.mutable_data_ptr<int64_t>();
  int64_t* pp = proposal.mutable_data_ptr<int64_t>();
  int64_t* qp = response.mutable_data_ptr<int64_t>();
  const int64_t* rp = rowptr.const_data_ptr<int64_t>();
  MG_DISPATCH_INDEX_TYPES(col.scalar_type(), "graclus_cuda", [&] {
    const index_t* cp = col.const_data_ptr<index_t>();
    MG_DISPATCH_FLOATING_TYPES(weighted ? w.scalar_type() : at::kFloat, "graclus_cuda_weight", [&] {
      const scalar_t* wp = weighted ? w.const_data_ptr<scalar_t>() : nullptr;
      for (int64_t round = 0;;) {
        for (int r = 0; r < kRoundsPerCheck; ++r, ++round) {
          colour_kernel<<<blocks, cuda::kThreads, 0, stream>>>(outp, V, useed, round);
          C10_CUDA_KERNEL_LAUNCH_CHECK();
          propose_kernel<index_t, scalar_t><<<blocks, cuda::kThreads, 0, stream>>>(rp, cp, wp, outp, pp, V, E);
          C10_CUDA_KERNEL_LAUNCH_CHECK();
          respond_kernel<index_t, scalar_t><<<blocks, cuda::kThreads, 0, stream>>>(rp, cp, wp, outp, pp, qp, V, E);
          C10_CUDA_KERNEL_LAUNCH_CHECK();
          apply_kernel<<<blocks, cuda::kThreads, 0, stream>>>(outp, pp, qp, V);
          C10_CUDA_KERNEL_LAUNCH_CHECK();
        }
        flag.zero_();
        any_unmatched_kernel<<<blocks, cuda::kThreads, 0, stream>>>(outp, V, flag.mutable_data_ptr<int32_t>());
        C10_CUDA_KERNEL_LAUNCH_CHECK();
        if (flag.item<int32_t>() == 0) break;  // host read: the number of rounds depends on the data
        if (round >= kMaxRounds) {
          singletons_kernel<<<blocks, cuda::kThreads, 0, stream>>>(outp, V);
          C10_CUDA_KERNEL_LAUNCH_CHECK();
          break;
        }
      }
    });
  });
  return out;
}

}  // namespace
}  // namespace graclus
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CUDA, m) { m.impl("graclus", &mg::graclus::graclus_cuda); }
