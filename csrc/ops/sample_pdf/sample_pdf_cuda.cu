// CUDA kernels for sample_pdf (contract in sample_pdf.h): one thread per row forms the partial sums (into a
// (B, n_bins) buffer, in the CPU's order), then one thread per sample binary-searches them (PyTorch3D's CUDA
// kernel walks every bin per sample instead). Bit-identical to the CPU kernel. No atomics, no host syncs.
#include <ATen/Dispatch.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include "../../common/cuda_utils.cuh"
#include "../../common/dispatch.h"
#include "sample_pdf.h"

namespace mg {
namespace pdf {
namespace {

template <typename scalar_t, typename acc_t>
__global__ void partial_sums_kernel(const scalar_t* __restrict__ w, int64_t B, int64_t n, acc_t eps,
                                    acc_t* __restrict__ c, acc_t* __restrict__ total) {
  MG_CUDA_KERNEL_LOOP(r, B) { total[r] = row_partial_sums<scalar_t, acc_t>(w + r * n, n, eps, c + r * n); }
}

template <typename scalar_t, typename acc_t>
__global__ void sample_kernel(const scalar_t* __restrict__ bins, const scalar_t* __restrict__ w,
                              const acc_t* __restrict__ c, const acc_t* __restrict__ total,
                              const acc_t* __restrict__ u, int64_t B, int64_t n, int64_t S, acc_t eps,
                              scalar_t* __restrict__ out) {
  MG_CUDA_KERNEL_LOOP(i, B * S) {
    const int64_t r = i / S;
    out[i] = sample_one<scalar_t, acc_t>(bins + r * (n + 1), w + r * n, c + r * n, n, total[r], eps, u[i]);
  }
}

at::Tensor sample_pdf_cuda(const at::Tensor& bins, const at::Tensor& weights, const at::Tensor& uniforms, double eps) {
  check_inputs(bins, weights, uniforms);
  const c10::cuda::CUDAGuard guard(bins.device());
  const int64_t B = weights.size(0), n = weights.size(1), S = uniforms.size(1);
  auto out = at::empty({B, S}, bins.options());
  if (B == 0 || S == 0) return out;
  const auto b = bins.contiguous(), w = weights.contiguous(), u = uniforms.contiguous();
  const auto stream = c10::cuda::getCurrentCUDAStream();
  MG_DISPATCH_FLOATING_TYPES(bins.scalar_type(), "sample_pdf_cuda", [&] {
    using acc_t = mg::acc_t<scalar_t>;
    const acc_t e = static_cast<acc_t>(eps);
    auto c = at::empty({B, n}, u.options());
    auto total = at::empty({B}, u.options());
    partial_sums_kernel<scalar_t, acc_t><<<cuda::num_blocks(B), cuda::kThreads, 0, stream>>>(
        w.const_data_ptr<scalar_t>(), B, n, e, c.mutable_data_ptr<acc_t>(), total.mutable_data_ptr<acc_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    sample_kernel<scalar_t, acc_t><<<cuda::num_blocks(B * S), cuda::kThreads, 0, stream>>>(
        b.const_data_ptr<scalar_t>(), w.const_data_ptr<scalar_t>(), c.const_data_ptr<acc_t>(),
        total.const_data_ptr<acc_t>(), u.const_data_ptr<acc_t>(), B, n, S, e, out.mutable_data_ptr<scalar_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return out;
}

}  // namespace
}  // namespace pdf
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CUDA, m) { m.impl("sample_pdf", &mg::pdf::sample_pdf_cuda); }
