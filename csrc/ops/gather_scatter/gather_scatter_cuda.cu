// CUDA kernels for the fused gather-scatter family (contract in gather_scatter.h).
// Segment (CSR) reductions: each output element is produced by one thread, no atomics, so results are
// deterministic run to run. Offsets are int64 throughout.
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include "../../common/checks.h"
#include "../../common/cuda_utils.cuh"
#include "../../common/cuda_warp.cuh"
#include "../../common/dispatch.h"
#include "gather_scatter.h"

namespace mg {
namespace {

// One thread per output element (v, f).
template <typename scalar_t, typename index_t>
__global__ void gather_scatter_kernel(const scalar_t* __restrict__ x, int64_t xrs, int64_t xcs, int64_t V_src,
                                      const int64_t* __restrict__ rowptr, const index_t* __restrict__ col,
                                      const scalar_t* __restrict__ w, int64_t H, int64_t E, int reduce,
                                      scalar_t* __restrict__ out, int64_t* __restrict__ arg, int64_t V_dst, int64_t F) {
  using acc_t = mg::acc_t<scalar_t>;
  const int64_t C = F / H;
  MG_CUDA_KERNEL_LOOP(i, V_dst * F) {
    const int64_t v = i / F, f = i - v * F, h = f / C;
    int64_t begin, end;
    row_bounds(rowptr, v, E, &begin, &end);
    if (reduce == static_cast<int>(Reduce::Sum) || reduce == static_cast<int>(Reduce::Mean)) {
      acc_t acc = 0;
      int64_t count = 0;
      for (int64_t k = begin; k < end; ++k) {
        const int64_t u = col[k];
        if (u < 0 || u >= V_src) continue;
        ++count;
        acc += (w ? static_cast<acc_t>(w[k * H + h]) : acc_t(1)) * static_cast<acc_t>(x[u * xrs + f * xcs]);
      }
      if (reduce == static_cast<int>(Reduce::Mean) && count > 0) acc /= static_cast<acc_t>(count);
      out[i] = static_cast<scalar_t>(acc);
    } else {
      const bool is_max = reduce == static_cast<int>(Reduce::Max);
      acc_t best = 0;
      int64_t best_k = -1;
      for (int64_t k = begin; k < end; ++k) {
        const int64_t u = col[k];
        if (u < 0 || u >= V_src) continue;
        const acc_t val = (w ? static_cast<acc_t>(w[k * H + h]) : acc_t(1)) * static_cast<acc_t>(x[u * xrs + f * xcs]);
        if (best_k < 0 || (is_max ? val > best : val < best)) {
          best = val;
          best_k = k;
        }
      }
      out[i] = best_k < 0 ? scalar_t(0) : static_cast<scalar_t>(best);
      arg[i] = best_k;
    }
  }
}

// One warp per CSR entry: lanes stride over features, then a shuffle reduction.
template <typename scalar_t, typename index_t>
__global__ void edge_dot_kernel(const scalar_t* __restrict__ a, int64_t ars, int64_t acs, const scalar_t* __restrict__ b,
                                int64_t brs, int64_t bcs, int64_t V_src, const int64_t* __restrict__ rowptr,
                                int64_t V_dst, const index_t* __restrict__ col, int64_t E, int64_t F, int64_t H,
                                scalar_t* __restrict__ out) {
  using acc_t = mg::acc_t<scalar_t>;
  const int lane = cuda::warp_lane();
  MG_CUDA_WARP_LOOP(k, E) {
    const int64_t v = cuda::owning_row(rowptr, V_dst, k);
    const int64_t u = col[k];
    const bool ok = v >= 0 && u >= 0 && u < V_src;
    const int64_t C = F / H;
    for (int64_t h = 0; h < H; ++h) {
      acc_t s = 0;
      if (ok) {
        for (int64_t f = h * C + lane; f < (h + 1) * C; f += cuda::kWarp)
          s += static_cast<acc_t>(a[v * ars + f * acs]) * static_cast<acc_t>(b[u * brs + f * bcs]);
      }
      s = cuda::warp_sum(s);
      if (lane == 0) out[k * H + h] = static_cast<scalar_t>(s);
    }
  }
}

// grad_x of max/min: one thread per (u, f) walks the transposed row of u.
template <typename scalar_t, typename index_t>
__global__ void arg_backward_x_kernel(const scalar_t* __restrict__ g, int64_t grs, int64_t gcs,
                                      const int64_t* __restrict__ arg, const int64_t* __restrict__ rowptr_t,
                                      const index_t* __restrict__ col_t, const int64_t* __restrict__ eid_t,
                                      const scalar_t* __restrict__ w, int64_t H, int64_t E, int64_t V_src,
                                      int64_t V_dst, int64_t F, scalar_t* __restrict__ grad_x) {
  using acc_t = mg::acc_t<scalar_t>;
  const int64_t C = F / H;
  MG_CUDA_KERNEL_LOOP(i, V_src * F) {
    const int64_t u = i / F, f = i - u * F, h = f / C;
    int64_t begin, end;
    row_bounds(rowptr_t, u, E, &begin, &end);
    acc_t acc = 0;
    for (int64_t t = begin; t < end; ++t) {
      const int64_t v = col_t[t], e = eid_t[t];
      if (v < 0 || v >= V_dst || e < 0 || e >= E) continue;
      if (arg[v * F + f] == e) acc += (w ? static_cast<acc_t>(w[e * H + h]) : acc_t(1)) * static_cast<acc_t>(g[v * grs + f * gcs]);
    }
    grad_x[i] = static_cast<scalar_t>(acc);
  }
}

// grad_weight of max/min: one warp per transposed entry t (source u, destination v, edge e).
template <typename scalar_t, typename index_t>
__global__ void arg_backward_w_kernel(const scalar_t* __restrict__ g, int64_t grs, int64_t gcs,
                                      const scalar_t* __restrict__ x, int64_t xrs, int64_t xcs,
                                      const int64_t* __restrict__ arg, const int64_t* __restrict__ rowptr_t,
                                      const index_t* __restrict__ col_t, const int64_t* __restrict__ eid_t, int64_t E,
                                      int64_t V_src, int64_t V_dst, int64_t F, int64_t H, scalar_t* __restrict__ grad_w) {
  using acc_t = mg::acc_t<scalar_t>;
  const int lane = cuda::warp_lane();
  MG_CUDA_WARP_LOOP(t, E) {
    const int64_t u = cuda::owning_row(rowptr_t, V_src, t);
    const int64_t v = col_t[t], e = eid_t[t];
    const bool ok = u >= 0 && v >= 0 && v < V_dst && e >= 0 && e < E;
    const int64_t C = F / H;
    for (int64_t h = 0; h < H; ++h) {
      acc_t s = 0;
      if (ok) {
        for (int64_t f = h * C + lane; f < (h + 1) * C; f += cuda::kWarp)
          if (arg[v * F + f] == e) s += static_cast<acc_t>(g[v * grs + f * gcs]) * static_cast<acc_t>(x[u * xrs + f * xcs]);
      }
      s = cuda::warp_sum(s);
      if (lane == 0 && ok) grad_w[e * H + h] = static_cast<scalar_t>(s);
    }
  }
}

std::tuple<at::Tensor, at::Tensor> gather_scatter_cuda(const at::Tensor& x, const at::Tensor& rowptr,
                                                       const at::Tensor& col, const std::optional<at::Tensor>& weight,
                                                       c10::string_view reduce_name,
                                                       const std::optional<at::Tensor>& rowptr_t,
                                                       const std::optional<at::Tensor>& col_t,
                                                       const std::optional<at::Tensor>& eid_t) {
  check_gather_scatter_inputs(x, rowptr, col, rowptr_t, col_t, eid_t);
  const Reduce reduce = parse_reduce(std::string_view(reduce_name.data(), reduce_name.size()));
  const c10::cuda::CUDAGuard guard(x.device());
  const at::Tensor w = contiguous_weight(weight, col, x);
  const int64_t H = w.defined() && w.dim() == 2 ? w.size(1) : 1;
  const int64_t V_dst = rowptr.size(0) - 1, F = x.size(1);
  auto out = at::empty({V_dst, F}, x.options());
  const bool with_arg = reduce == Reduce::Max || reduce == Reduce::Min;
  auto arg = at::empty({with_arg ? V_dst : 0, with_arg ? F : 0}, x.options().dtype(at::kLong));
  if (out.numel() == 0) return {out, arg};
  const auto rp = rowptr.contiguous();
  const auto c = col.contiguous();
  const auto stream = c10::cuda::getCurrentCUDAStream();
  MG_DISPATCH_FLOATING_TYPES(x.scalar_type(), "gather_scatter_cuda", [&] {
    MG_DISPATCH_INDEX_TYPES(c.scalar_type(), "gather_scatter_cuda", [&] {
      gather_scatter_kernel<scalar_t, index_t><<<cuda::num_blocks(V_dst * F), cuda::kThreads, 0, stream>>>(
          x.const_data_ptr<scalar_t>(), x.stride(0), x.stride(1), x.size(0), rp.const_data_ptr<int64_t>(),
          c.const_data_ptr<index_t>(), w.defined() ? w.const_data_ptr<scalar_t>() : nullptr, H, c.numel(),
          static_cast<int>(reduce), out.mutable_data_ptr<scalar_t>(),
          with_arg ? arg.mutable_data_ptr<int64_t>() : nullptr, V_dst, F);
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  });
  return {out, arg};
}

at::Tensor edge_dot_cuda(const at::Tensor& a, const at::Tensor& b, const at::Tensor& rowptr, const at::Tensor& col,
                         int64_t heads, const std::optional<at::Tensor>& rowptr_t,
                         const std::optional<at::Tensor>& col_t, const std::optional<at::Tensor>& eid_t) {
  check_edge_dot_inputs(a, b, rowptr, col, heads, rowptr_t, col_t, eid_t);
  const c10::cuda::CUDAGuard guard(a.device());
  const int64_t E = col.numel(), F = a.size(1);
  auto out = heads == 1 ? at::zeros({E}, a.options()) : at::zeros({E, heads}, a.options());
  if (E == 0 || a.size(0) == 0) return out;
  const auto rp = rowptr.contiguous();
  const auto c = col.contiguous();
  const auto stream = c10::cuda::getCurrentCUDAStream();
  MG_DISPATCH_FLOATING_TYPES(a.scalar_type(), "edge_dot_cuda", [&] {
    MG_DISPATCH_INDEX_TYPES(c.scalar_type(), "edge_dot_cuda", [&] {
      edge_dot_kernel<scalar_t, index_t><<<cuda::warp_blocks(E), cuda::kThreads, 0, stream>>>(
          a.const_data_ptr<scalar_t>(), a.stride(0), a.stride(1), b.const_data_ptr<scalar_t>(), b.stride(0),
          b.stride(1), b.size(0), rp.const_data_ptr<int64_t>(), a.size(0), c.const_data_ptr<index_t>(), E, F, heads,
          out.mutable_data_ptr<scalar_t>());
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  });
  return out;
}

std::tuple<at::Tensor, at::Tensor> gather_scatter_arg_backward_cuda(
    const at::Tensor& grad_out, const at::Tensor& x, const at::Tensor& arg, const at::Tensor& rowptr_t,
    const at::Tensor& col_t, const at::Tensor& eid_t, const std::optional<at::Tensor>& weight,
    bool compute_grad_weight) {
  check_arg_backward_inputs(grad_out, x, arg, rowptr_t, col_t, eid_t);
  const c10::cuda::CUDAGuard guard(x.device());
  const int64_t V_src = x.size(0), V_dst = grad_out.size(0), F = x.size(1), E = col_t.numel();
  const auto ar = arg.contiguous();
  const at::Tensor w = contiguous_weight(weight, col_t, x);
  const int64_t H = w.defined() && w.dim() == 2 ? w.size(1) : 1;
  auto grad_x = at::empty({V_src, F}, x.options());
  auto grad_w = zero_grad_weight(w, compute_grad_weight, E, x.options());
  const auto rp = rowptr_t.contiguous();
  const auto c = col_t.contiguous();
  const auto eid = eid_t.contiguous();
  const auto stream = c10::cuda::getCurrentCUDAStream();
  MG_DISPATCH_FLOATING_TYPES(x.scalar_type(), "gather_scatter_arg_backward_cuda", [&] {
    MG_DISPATCH_INDEX_TYPES(c.scalar_type(), "gather_scatter_arg_backward_cuda", [&] {
      if (grad_x.numel() > 0) {
        arg_backward_x_kernel<scalar_t, index_t><<<cuda::num_blocks(V_src * F), cuda::kThreads, 0, stream>>>(
            grad_out.const_data_ptr<scalar_t>(), grad_out.stride(0), grad_out.stride(1), ar.const_data_ptr<int64_t>(),
            rp.const_data_ptr<int64_t>(), c.const_data_ptr<index_t>(), eid.const_data_ptr<int64_t>(),
            w.defined() ? w.const_data_ptr<scalar_t>() : nullptr, H, E, V_src, V_dst, F, grad_x.mutable_data_ptr<scalar_t>());
        C10_CUDA_KERNEL_LAUNCH_CHECK();
      }
      if (compute_grad_weight && E > 0 && V_src > 0) {
        arg_backward_w_kernel<scalar_t, index_t><<<cuda::warp_blocks(E), cuda::kThreads, 0, stream>>>(
            grad_out.const_data_ptr<scalar_t>(), grad_out.stride(0), grad_out.stride(1), x.const_data_ptr<scalar_t>(),
            x.stride(0), x.stride(1), ar.const_data_ptr<int64_t>(), rp.const_data_ptr<int64_t>(),
            c.const_data_ptr<index_t>(), eid.const_data_ptr<int64_t>(), E, V_src, V_dst, F, H,
            grad_w.mutable_data_ptr<scalar_t>());
        C10_CUDA_KERNEL_LAUNCH_CHECK();
      }
    });
  });
  return {grad_x, grad_w};
}

}  // namespace
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CUDA, m) {
  m.impl("gather_scatter", &mg::gather_scatter_cuda);
  m.impl("edge_dot", &mg::edge_dot_cuda);
  m.impl("gather_scatter_arg_backward", &mg::gather_scatter_arg_backward_cuda);
}
