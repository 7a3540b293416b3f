// CUDA kernels of spline_weighting (contract and algorithms in spline_weighting.h). Every output element is summed
// by one thread (or one warp) in a fixed order: no atomics, deterministic run to run. Offsets are int64.
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/full.h>
#include <ATen/ops/sum.h>
#include <ATen/ops/zeros.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include "../../common/cuda_utils.cuh"
#include "../../common/cuda_warp.cuh"
#include "../../common/dispatch.h"
#include "../../common/index_math.h"
#include "../gatv2_edge_score/gatv2_edge_score.h"
#include "spline_weighting.h"

namespace mg {
namespace spline {
namespace {

// One thread per (v, o): threads of a row share the reads of x[u] and read weight[w, i, :] coalesced.
template <typename scalar_t, typename index_t>
__global__ void forward_kernel(const scalar_t* __restrict__ x, const scalar_t* __restrict__ W,
                               const scalar_t* __restrict__ basis, const int64_t* __restrict__ wi,
                               const int64_t* __restrict__ rowptr, const index_t* __restrict__ col, int64_t V_src,
                               int64_t V_dst, int64_t E, int64_t K, int64_t Cin, int64_t Cout, int64_t S, bool mean,
                               scalar_t* __restrict__ out) {
  using acc_t = mg::acc_t<scalar_t>;
  MG_CUDA_KERNEL_LOOP(idx, V_dst * Cout) {
    const int64_t v = idx / Cout, o = idx - v * Cout;
    int64_t begin, end;
    row_bounds(rowptr, v, E, &begin, &end);
    acc_t acc = 0;
    for (int64_t k = begin; k < end; ++k) {
      const int64_t u = col[k];
      if (u < 0 || u >= V_src) continue;
      for (int64_t s = 0; s < S; ++s) {
        const int64_t w = wi[k * S + s];
        if (w < 0 || w >= K) continue;
        const acc_t b = static_cast<acc_t>(basis[k * S + s]);
        const scalar_t* Wr = W + w * Cin * Cout + o;
        acc_t t = 0;
        for (int64_t i = 0; i < Cin; ++i) t += static_cast<acc_t>(x[u * Cin + i]) * static_cast<acc_t>(Wr[i * Cout]);
        acc += b * t;
      }
    }
    out[idx] = static_cast<scalar_t>(acc * row_scale<acc_t>(end - begin, mean));
  }
}

// grad_x: one thread per (u, i) over the transposed CSR; Wt is weight transposed to (K, Cout, Cin).
template <typename scalar_t, typename index_t>
__global__ void grad_x_kernel(const scalar_t* __restrict__ g, const scalar_t* __restrict__ Wt,
                              const scalar_t* __restrict__ basis, const int64_t* __restrict__ wi,
                              const int64_t* __restrict__ rowptr, const int64_t* __restrict__ rowptr_t,
                              const index_t* __restrict__ col_t, const int64_t* __restrict__ eid_t, int64_t V_src,
                              int64_t V_dst, int64_t E, int64_t K, int64_t Cin, int64_t Cout, int64_t S, bool mean,
                              scalar_t* __restrict__ grad_x) {
  using acc_t = mg::acc_t<scalar_t>;
  MG_CUDA_KERNEL_LOOP(idx, V_src * Cin) {
    const int64_t u = idx / Cin, i = idx - u * Cin;
    int64_t begin, end;
    row_bounds(rowptr_t, u, E, &begin, &end);
    acc_t acc = 0;
    for (int64_t t = begin; t < end; ++t) {
      int64_t v, k;
      acc_t c;
      if (!transposed_entry(col_t, eid_t, rowptr, t, V_dst, E, mean, &v, &k, &c)) continue;
      for (int64_t s = 0; s < S; ++s) {
        const int64_t w = wi[k * S + s];
        if (w < 0 || w >= K) continue;
        const scalar_t* Wr = Wt + w * Cout * Cin + i;
        acc_t dot = 0;
        for (int64_t o = 0; o < Cout; ++o) dot += static_cast<acc_t>(g[v * Cout + o]) * static_cast<acc_t>(Wr[o * Cin]);
        acc += static_cast<acc_t>(basis[k * S + s]) * c * dot;
      }
    }
    grad_x[idx] = static_cast<scalar_t>(acc);
  }
}

// grad_basis: one warp per CSR entry; lanes split the output channels, then a shuffle reduction per s.
template <typename scalar_t, typename index_t>
__global__ void grad_basis_kernel(const scalar_t* __restrict__ g, const scalar_t* __restrict__ x,
                                  const scalar_t* __restrict__ W, const int64_t* __restrict__ wi,
                                  const int64_t* __restrict__ rowptr, const index_t* __restrict__ col, int64_t V_src,
                                  int64_t V_dst, int64_t E, int64_t K, int64_t Cin, int64_t Cout, int64_t S, bool mean,
                                  scalar_t* __restrict__ grad_basis) {
  using acc_t = mg::acc_t<scalar_t>;
  const int lane = cuda::warp_lane();
  MG_CUDA_WARP_LOOP(k, E) {
    const int64_t v = cuda::owning_row(rowptr, V_dst, k);
    const int64_t u = col[k];
    const bool ok = v >= 0 && u >= 0 && u < V_src;
    const acc_t c = ok ? row_scale<acc_t>(rowptr[v + 1] - rowptr[v], mean) : acc_t(0);
    for (int64_t s = 0; s < S; ++s) {
      const int64_t w = wi[k * S + s];
      acc_t part = 0;
      if (ok && w >= 0 && w < K) {
        for (int64_t o = lane; o < Cout; o += cuda::kWarp) {
          acc_t t = 0;
          for (int64_t i = 0; i < Cin; ++i)
            t += static_cast<acc_t>(x[u * Cin + i]) * static_cast<acc_t>(W[(w * Cin + i) * Cout + o]);
          part += t * (static_cast<acc_t>(g[v * Cout + o]) * c);
        }
      }
      part = cuda::warp_sum(part);
      if (lane == 0) grad_basis[k * S + s] = static_cast<scalar_t>(part);
    }
  }
}

// The destination row of every CSR entry (-1 for entries outside every row): one thread per row.
__global__ void entry_rows_kernel(const int64_t* __restrict__ rowptr, int64_t V_dst, int64_t E,
                                  int64_t* __restrict__ rows) {
  MG_CUDA_KERNEL_LOOP(v, V_dst) { mark_entry_rows(rowptr, v, E, rows); }
}

// grad_weight: the (entry, s) pairs grouped by slice w (ptr, perm); one thread per (z, w, i, o) sums part z of
// group w into part[z, w, i, o].
template <typename scalar_t, typename index_t, typename acc_t>
__global__ void grad_weight_kernel(const scalar_t* __restrict__ g, const scalar_t* __restrict__ x,
                                   const scalar_t* __restrict__ basis, const int64_t* __restrict__ ptr,
                                   const int64_t* __restrict__ perm, const int64_t* __restrict__ rows,
                                   const int64_t* __restrict__ rowptr, const index_t* __restrict__ col, int64_t V_src,
                                   int64_t E, int64_t K, int64_t Cin, int64_t Cout, int64_t S, int64_t Z, bool mean,
                                   acc_t* __restrict__ part) {
  const int64_t CC = Cin * Cout;
  MG_CUDA_KERNEL_LOOP(idx, Z * K * CC) {
    const int64_t zw = idx / CC, io = idx - zw * CC;
    const int64_t z = zw / K, w = zw - z * K, i = io / Cout, o = io - i * Cout;
    int64_t j0, j1;
    group_part(ptr, w, z, Z, E * S, &j0, &j1);
    acc_t acc = 0;
    for (int64_t j = j0; j < j1; ++j) {
      int64_t u, v;
      acc_t bb;
      if (!weight_pair(perm[j], basis, rows, rowptr, col, V_src, E, S, mean, &u, &v, &bb)) continue;
      acc += (bb * static_cast<acc_t>(x[u * Cin + i])) * static_cast<acc_t>(g[v * Cout + o]);
    }
    part[idx] = acc;
  }
}

at::Tensor spline_weighting_cuda(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& basis,
                                 const at::Tensor& weight_index, const at::Tensor& rowptr, const at::Tensor& col,
                                 c10::string_view reduce, const std::optional<at::Tensor>& rowptr_t,
                                 const std::optional<at::Tensor>& col_t, const std::optional<at::Tensor>& eid_t) {
  const bool mean = check_forward(x, weight, basis, weight_index, rowptr, col, reduce, rowptr_t, col_t, eid_t);
  const c10::cuda::CUDAGuard guard(x.device());
  const int64_t V_dst = rowptr.size(0) - 1, K = weight.size(0), Cin = x.size(1), Cout = weight.size(2);
  const int64_t S = basis.size(1), E = col.numel();
  auto out = at::empty({V_dst, Cout}, x.options());
  if (out.numel() == 0) return out;
  const auto xc = x.contiguous(), wc = weight.contiguous(), bc = basis.contiguous(), wic = weight_index.contiguous();
  const auto rp = rowptr.contiguous(), c = col.contiguous();
  const auto stream = c10::cuda::getCurrentCUDAStream();
  MG_DISPATCH_FLOATING_TYPES(x.scalar_type(), "spline_weighting_cuda", [&] {
    MG_DISPATCH_INDEX_TYPES(c.scalar_type(), "spline_weighting_cuda", [&] {
      forward_kernel<scalar_t, index_t><<<cuda::num_blocks(V_dst * Cout), cuda::kThreads, 0, stream>>>(
          xc.const_data_ptr<scalar_t>(), wc.const_data_ptr<scalar_t>(), bc.const_data_ptr<scalar_t>(),
          wic.const_data_ptr<int64_t>(), rp.const_data_ptr<int64_t>(), c.const_data_ptr<index_t>(), x.size(0), V_dst,
          E, K, Cin, Cout, S, mean, out.mutable_data_ptr<scalar_t>());
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  });
  return out;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> spline_weighting_backward_cuda(
    const at::Tensor& grad_out, const at::Tensor& x, const at::Tensor& weight, const at::Tensor& basis,
    const at::Tensor& weight_index, const at::Tensor& rowptr, const at::Tensor& col, c10::string_view reduce,
    const at::Tensor& rowptr_t, const at::Tensor& col_t, const at::Tensor& eid_t, std::array<bool, 3> mask) {
  const Backward bw = backward_prologue(grad_out, x, weight, basis, weight_index, rowptr, col, reduce, rowptr_t,
                                        col_t, eid_t, mask);
  const c10::cuda::CUDAGuard guard(x.device());
  const int64_t V_src = x.size(0), V_dst = grad_out.size(0), K = weight.size(0), Cin = x.size(1);
  const int64_t Cout = weight.size(2), S = basis.size(1), E = col.numel();
  if (E == 0 || weight.numel() == 0 || x.numel() == 0 || S == 0) return bw.result();
  const bool mean = bw.mean;
  const auto g = grad_out.contiguous(), xc = x.contiguous(), wc = weight.contiguous(), bc = basis.contiguous();
  const auto wic = weight_index.contiguous(), rp = rowptr.contiguous(), c = col.contiguous();
  const auto stream = c10::cuda::getCurrentCUDAStream();
  MG_DISPATCH_FLOATING_TYPES(x.scalar_type(), "spline_weighting_backward_cuda", [&] {
    MG_DISPATCH_INDEX_TYPES(c.scalar_type(), "spline_weighting_backward_cuda", [&] {
      using acc_t = mg::acc_t<scalar_t>;
      if (mask[0]) {
        const auto wt = weight.transpose(1, 2).contiguous();
        const auto rpt = rowptr_t.contiguous(), ct = col_t.contiguous(), et = eid_t.contiguous();
        grad_x_kernel<scalar_t, index_t><<<cuda::num_blocks(V_src * Cin), cuda::kThreads, 0, stream>>>(
            g.const_data_ptr<scalar_t>(), wt.const_data_ptr<scalar_t>(), bc.const_data_ptr<scalar_t>(),
            wic.const_data_ptr<int64_t>(), rp.const_data_ptr<int64_t>(), rpt.const_data_ptr<int64_t>(),
            ct.const_data_ptr<index_t>(), et.const_data_ptr<int64_t>(), V_src, V_dst, E, K, Cin, Cout, S, mean,
            bw.gx.mutable_data_ptr<scalar_t>());
        C10_CUDA_KERNEL_LAUNCH_CHECK();
      }
      if (mask[2]) {
        grad_basis_kernel<scalar_t, index_t><<<cuda::warp_blocks(E), cuda::kThreads, 0, stream>>>(
            g.const_data_ptr<scalar_t>(), xc.const_data_ptr<scalar_t>(), wc.const_data_ptr<scalar_t>(),
            wic.const_data_ptr<int64_t>(), rp.const_data_ptr<int64_t>(), c.const_data_ptr<index_t>(), V_src, V_dst, E,
            K, Cin, Cout, S, mean, bw.gb.mutable_data_ptr<scalar_t>());
        C10_CUDA_KERNEL_LAUNCH_CHECK();
      }
      if (mask[1]) {
        const int64_t Z = weight_grad_slices(K, Cin, Cout);
        auto [ptr, perm] = gatv2::csr_of(wic.reshape({-1}), K);
        auto rows = at::full({E}, -1, rp.options());
        if (V_dst > 0) {
          entry_rows_kernel<<<cuda::num_blocks(V_dst), cuda::kThreads, 0, stream>>>(
              rp.const_data_ptr<int64_t>(), V_dst, E, rows.mutable_data_ptr<int64_t>());
          C10_CUDA_KERNEL_LAUNCH_CHECK();
        }
        auto part = at::empty({Z, K, Cin, Cout}, x.options().dtype(c10::CppTypeToScalarType<acc_t>::value));
        grad_weight_kernel<scalar_t, index_t, acc_t><<<cuda::num_blocks(Z * K * Cin * Cout), cuda::kThreads, 0, stream>>>(
            g.const_data_ptr<scalar_t>(), xc.const_data_ptr<scalar_t>(), bc.const_data_ptr<scalar_t>(),
            ptr.const_data_ptr<int64_t>(), perm.const_data_ptr<int64_t>(), rows.const_data_ptr<int64_t>(),
            rp.const_data_ptr<int64_t>(), c.const_data_ptr<index_t>(), V_src, E, K, Cin, Cout, S, Z, mean,
            part.mutable_data_ptr<acc_t>());
        C10_CUDA_KERNEL_LAUNCH_CHECK();
        bw.gw.copy_(Z == 1 ? part[0] : part.sum(0));  // a fixed-shape reduction: deterministic
      }
    });
  });
  return bw.result();
}

}  // namespace
}  // namespace spline
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CUDA, m) {
  m.impl("spline_weighting", &mg::spline::spline_weighting_cuda);
  m.impl("spline_weighting_backward", &mg::spline::spline_weighting_backward_cuda);
}
