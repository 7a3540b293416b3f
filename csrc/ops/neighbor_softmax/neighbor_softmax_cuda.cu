// CUDA kernels for neighbor_softmax (contract in neighbor_softmax.h): one thread per (row, head).
#include <ATen/core/Tensor.h>
#include <ATen/ops/zeros_like.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include "../../common/checks.h"
#include "../../common/cuda_utils.cuh"
#include "../../common/dispatch.h"
#include "../gather_scatter/gather_scatter.h"
#include "neighbor_softmax.h"

namespace mg {
namespace {

template <typename scalar_t>
__global__ void neighbor_softmax_kernel(const scalar_t* __restrict__ s, const int64_t* __restrict__ rowptr,
                                        const int64_t* __restrict__ ids, int64_t V, int64_t E, int64_t H,
                                        scalar_t* __restrict__ out) {
  using acc_t = mg::acc_t<scalar_t>;
  MG_CUDA_KERNEL_LOOP(i, V * H) {
    const int64_t v = i / H, h = i - v * H;
    int64_t begin, end;
    row_bounds(rowptr, v, E, &begin, &end);
    acc_t mx = -INFINITY, sum = 0;
    for (int64_t k = begin; k < end; ++k) {
      const int64_t e = ids ? ids[k] : k;
      if (e >= 0 && e < E) mx = max(mx, static_cast<acc_t>(s[e * H + h]));
    }
    for (int64_t k = begin; k < end; ++k) {
      const int64_t e = ids ? ids[k] : k;
      if (e >= 0 && e < E) sum += exp(static_cast<acc_t>(s[e * H + h]) - mx);
    }
    for (int64_t k = begin; k < end; ++k) {
      const int64_t e = ids ? ids[k] : k;
      if (e >= 0 && e < E) out[e * H + h] = static_cast<scalar_t>(exp(static_cast<acc_t>(s[e * H + h]) - mx) / sum);
    }
  }
}

template <typename scalar_t>
__global__ void neighbor_softmax_backward_kernel(const scalar_t* __restrict__ g, const scalar_t* __restrict__ y,
                                                 const int64_t* __restrict__ rowptr, const int64_t* __restrict__ ids,
                                                 int64_t V, int64_t E, int64_t H, scalar_t* __restrict__ gin) {
  using acc_t = mg::acc_t<scalar_t>;
  MG_CUDA_KERNEL_LOOP(i, V * H) {
    const int64_t v = i / H, h = i - v * H;
    int64_t begin, end;
    row_bounds(rowptr, v, E, &begin, &end);
    acc_t dot = 0;
    for (int64_t k = begin; k < end; ++k) {
      const int64_t e = ids ? ids[k] : k;
      if (e >= 0 && e < E) dot += static_cast<acc_t>(y[e * H + h]) * static_cast<acc_t>(g[e * H + h]);
    }
    for (int64_t k = begin; k < end; ++k) {
      const int64_t e = ids ? ids[k] : k;
      if (e >= 0 && e < E)
        gin[e * H + h] = static_cast<scalar_t>(static_cast<acc_t>(y[e * H + h]) * (static_cast<acc_t>(g[e * H + h]) - dot));
    }
  }
}



at::Tensor neighbor_softmax_cuda(const at::Tensor& scores, const at::Tensor& rowptr,
                                 const std::optional<at::Tensor>& edge_id) {
  check_softmax_inputs(scores, rowptr);
  const c10::cuda::CUDAGuard guard(scores.device());
  const auto s = scores.contiguous();
  const auto rp = rowptr.contiguous();
  at::Tensor ids_holder;
  const int64_t* ids = edge_ids(edge_id, s, ids_holder);
  auto out = at::zeros_like(s);
  const int64_t E = s.size(0), H = s.dim() == 2 ? s.size(1) : 1, V = rp.size(0) - 1;
  if (out.numel() == 0 || V == 0) return out;
  MG_DISPATCH_FLOATING_TYPES(s.scalar_type(), "neighbor_softmax_cuda", [&] {
    neighbor_softmax_kernel<scalar_t><<<cuda::num_blocks(V * H), cuda::kThreads, 0, c10::cuda::getCurrentCUDAStream()>>>(
        s.const_data_ptr<scalar_t>(), rp.const_data_ptr<int64_t>(), ids, V, E, H, out.mutable_data_ptr<scalar_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return out;
}

at::Tensor neighbor_softmax_backward_cuda(const at::Tensor& grad, const at::Tensor& out, const at::Tensor& rowptr,
                                          const std::optional<at::Tensor>& edge_id) {
  check_softmax_inputs(out, rowptr);
  check_softmax_grad(grad, out);
  const c10::cuda::CUDAGuard guard(out.device());
  const auto g = grad.contiguous();
  const auto y = out.contiguous();
  const auto rp = rowptr.contiguous();
  at::Tensor ids_holder;
  const int64_t* ids = edge_ids(edge_id, y, ids_holder);
  auto gin = at::zeros_like(y);
  const int64_t E = y.size(0), H = y.dim() == 2 ? y.size(1) : 1, V = rp.size(0) - 1;
  if (gin.numel() == 0 || V == 0) return gin;
  MG_DISPATCH_FLOATING_TYPES(y.scalar_type(), "neighbor_softmax_backward_cuda", [&] {
    neighbor_softmax_backward_kernel<scalar_t><<<cuda::num_blocks(V * H), cuda::kThreads, 0, c10::cuda::getCurrentCUDAStream()>>>(
        g.const_data_ptr<scalar_t>(), y.const_data_ptr<scalar_t>(), rp.const_data_ptr<int64_t>(), ids, V, E, H,
        gin.mutable_data_ptr<scalar_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return gin;
}

}  // namespace
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CUDA, m) {
  m.impl("neighbor_softmax", &mg::neighbor_softmax_cuda);
  m.impl("neighbor_softmax_backward", &mg::neighbor_softmax_backward_cuda);
}
