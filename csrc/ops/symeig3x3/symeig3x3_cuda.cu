// CUDA kernels for symeig3x3 (contract in symeig3x3.h): one thread per matrix, the shared C10_HOST_DEVICE solve /
// backward of symeig3x3.h (bit-identical to the CPU kernels: no FP contraction). No atomics, no syncs.
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include <limits>
#include <tuple>
#include <vector>

#include "../../common/cuda_utils.cuh"
#include "../../common/dispatch.h"
#include "symeig3x3.h"

namespace mg {
namespace symeig {
namespace {

template <typename scalar_t, typename acc_t>
__global__ void symeig3x3_kernel(const scalar_t* __restrict__ a, int64_t B, scalar_t* __restrict__ w,
                                 scalar_t* __restrict__ v) {
  MG_CUDA_KERNEL_LOOP(b, B) {
    acc_t m[9], ww[3], vv[3][3];
    for (int i = 0; i < 9; ++i) m[i] = static_cast<acc_t>(a[9 * b + i]);
    solve<acc_t>(m, ww, vv);
    for (int i = 0; i < 3; ++i) {
      w[3 * b + i] = static_cast<scalar_t>(ww[i]);
      for (int j = 0; j < 3; ++j) v[9 * b + 3 * i + j] = static_cast<scalar_t>(vv[i][j]);
    }
  }
}

template <typename scalar_t, typename acc_t>
__global__ void symeig3x3_backward_kernel(const scalar_t* gw, const scalar_t* gv, const scalar_t* __restrict__ w,
                                          const scalar_t* __restrict__ v, int64_t B, acc_t gap_eps,
                                          scalar_t* __restrict__ ga) {
  MG_CUDA_KERNEL_LOOP(b, B) {
    acc_t ww[3], vv[9], gww[3], gvv[9], out[9];
    for (int i = 0; i < 3; ++i) {
      ww[i] = static_cast<acc_t>(w[3 * b + i]);
      gww[i] = gw != nullptr ? static_cast<acc_t>(gw[3 * b + i]) : acc_t(0);
    }
    for (int i = 0; i < 9; ++i) {
      vv[i] = static_cast<acc_t>(v[9 * b + i]);
      gvv[i] = gv != nullptr ? static_cast<acc_t>(gv[9 * b + i]) : acc_t(0);
    }
    backward<acc_t>(gw != nullptr ? gww : nullptr, gv != nullptr ? gvv : nullptr, ww, vv, gap_eps, out);
    for (int i = 0; i < 9; ++i) ga[9 * b + i] = static_cast<scalar_t>(out[i]);
  }
}

std::tuple<at::Tensor, at::Tensor> symeig3x3_cuda(const at::Tensor& input) {
  check_input(input);
  const c10::cuda::CUDAGuard guard(input.device());
  std::vector<int64_t> shape(input.sizes().begin(), input.sizes().end() - 2);
  const int64_t B = c10::multiply_integers(shape);
  auto v = at::empty({B, 3, 3}, input.options());
  auto w = at::empty({B, 3}, input.options());
  if (B > 0) {
    const auto a = input.reshape({B, 9}).contiguous();
    MG_DISPATCH_FLOATING_TYPES(input.scalar_type(), "symeig3x3_cuda", [&] {
      symeig3x3_kernel<scalar_t, mg::acc_t<scalar_t>>
          <<<cuda::num_blocks(B), cuda::kThreads, 0, c10::cuda::getCurrentCUDAStream()>>>(
              a.const_data_ptr<scalar_t>(), B, w.mutable_data_ptr<scalar_t>(), v.mutable_data_ptr<scalar_t>());
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  }
  shape.push_back(3);
  auto w_out = w.view(shape);
  shape.push_back(3);
  return {w_out, v.view(shape)};
}

at::Tensor symeig3x3_backward_cuda(const c10::optional<at::Tensor>& grad_w, const c10::optional<at::Tensor>& grad_v,
                                   const at::Tensor& w, const at::Tensor& v) {
  check_backward(grad_w, grad_v, w, v);
  const c10::cuda::CUDAGuard guard(v.device());
  const int64_t B = v.numel() / 9;
  auto ga = at::empty(v.sizes(), v.options());
  if (B == 0) return ga;
  const bool has_gw = grad_w.has_value() && grad_w->defined(), has_gv = grad_v.has_value() && grad_v->defined();
  const auto wc = w.reshape({B, 3}).contiguous(), vc = v.reshape({B, 9}).contiguous();
  const auto gw = has_gw ? grad_w->to(v.scalar_type()).reshape({B, 3}).contiguous() : at::Tensor();
  const auto gv = has_gv ? grad_v->to(v.scalar_type()).reshape({B, 9}).contiguous() : at::Tensor();
  MG_DISPATCH_FLOATING_TYPES(v.scalar_type(), "symeig3x3_backward_cuda", [&] {
    using acc_t = mg::acc_t<scalar_t>;
    const acc_t gap_eps = static_cast<acc_t>(kGapFactor * static_cast<double>(std::numeric_limits<scalar_t>::epsilon()));
    symeig3x3_backward_kernel<scalar_t, acc_t>
        <<<cuda::num_blocks(B), cuda::kThreads, 0, c10::cuda::getCurrentCUDAStream()>>>(
            has_gw ? gw.const_data_ptr<scalar_t>() : nullptr, has_gv ? gv.const_data_ptr<scalar_t>() : nullptr,
            wc.const_data_ptr<scalar_t>(), vc.const_data_ptr<scalar_t>(), B, gap_eps, ga.mutable_data_ptr<scalar_t>());
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
