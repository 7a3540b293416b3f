// CUDA kernels for symeig3x3 (contract in symeig3x3.h): one thread per matrix, the shared C10_HOST_DEVICE solve /
// backward of symeig3x3.h (bit-identical to the CPU kernels: no FP contraction). No atomics, no syncs.
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include <tuple>

#include "../../common/cuda_utils.cuh"
#include "../../common/dispatch.h"
#include "symeig3x3.h"

namespace mg {
namespace symeig {
namespace {

template <typename scalar_t, typename acc_t>
__global__ void symeig3x3_kernel(const scalar_t* __restrict__ a, int64_t B, scalar_t* __restrict__ w,
                                 scalar_t* __restrict__ v) {
  MG_CUDA_KERNEL_LOOP(b, B) { solve_matrix<scalar_t, acc_t>(a, w, v, b); }
}

template <typename scalar_t, typename acc_t>
__global__ void symeig3x3_backward_kernel(const scalar_t* gw, const scalar_t* gv, const scalar_t* __restrict__ w,
                                          const scalar_t* __restrict__ v, int64_t B, acc_t gap_eps,
                                          scalar_t* __restrict__ ga) {
  MG_CUDA_KERNEL_LOOP(b, B) { backward_matrix<scalar_t, acc_t>(gw, gv, w, v, gap_eps, ga, b); }
}

std::tuple<at::Tensor, at::Tensor> symeig3x3_cuda(const at::Tensor& input) {
  check_input(input);
  const c10::cuda::CUDAGuard guard(input.device());
  const int64_t B = input.numel() / 9;
  auto w = at::empty(output_shape(input, 1), input.options());
  auto v = at::empty(output_shape(input, 2), input.options());
  if (B == 0) return {w, v};
  const auto a = input.reshape({B, 9}).contiguous();
  MG_DISPATCH_FLOATING_TYPES(input.scalar_type(), "symeig3x3_cuda", [&] {
    symeig3x3_kernel<scalar_t, mg::acc_t<scalar_t>>
        <<<cuda::num_blocks(B), cuda::kThreads, 0, c10::cuda::getCurrentCUDAStream()>>>(
            a.const_data_ptr<scalar_t>(), B, w.mutable_data_ptr<scalar_t>(), v.mutable_data_ptr<scalar_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return {w, v};
}

at::Tensor symeig3x3_backward_cuda(const c10::optional<at::Tensor>& grad_w, const c10::optional<at::Tensor>& grad_v,
                                   const at::Tensor& w, const at::Tensor& v) {
  check_backward(grad_w, grad_v, w, v);
  const c10::cuda::CUDAGuard guard(v.device());
  auto ga = at::empty(v.sizes(), v.options());
  const BackwardOperands in = backward_operands(grad_w, grad_v, w, v);
  if (in.B == 0) return ga;
  MG_DISPATCH_FLOATING_TYPES(v.scalar_type(), "symeig3x3_backward_cuda", [&] {
    using acc_t = mg::acc_t<scalar_t>;
    symeig3x3_backward_kernel<scalar_t, acc_t>
        <<<cuda::num_blocks(in.B), cuda::kThreads, 0, c10::cuda::getCurrentCUDAStream()>>>(
            in.gw.defined() ? in.gw.const_data_ptr<scalar_t>() : nullptr,
            in.gv.defined() ? in.gv.const_data_ptr<scalar_t>() : nullptr, in.w.const_data_ptr<scalar_t>(),
            in.v.const_data_ptr<scalar_t>(), in.B, gap_eps<scalar_t, acc_t>(), ga.mutable_data_ptr<scalar_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return ga;
}

}  // namespace
}  // namespace symeig
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CUDA, m) {
  m.impl("symeig3x3", &mg::symeig::symeig3x3_cuda);
  m.impl("symeig3x3_backward", &mg::symeig::symeig3x3_backward_cuda);
}
