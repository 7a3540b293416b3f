// CUDA kernels for interpolate_face_attributes (contract in interpolate_face_attributes.h): one thread per
// (slot, feature); the backward adds value gradients with atomicAdd, or (deterministic algorithms) with the
// ATen reduction grad_values_deterministic.
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include <tuple>
#include <vector>

#include "../../common/cuda_utils.cuh"
#include "../../common/dispatch.h"
#include "interpolate_face_attributes.h"

namespace mg {
namespace interp {
namespace {

// Inputs are read in their dtype (scalar_t); sums are formed in acc_t, grad_values accumulated in acc_t.
template <typename scalar_t, typename acc_t>
__global__ void interp_kernel(const int64_t* __restrict__ p2f, const scalar_t* __restrict__ bary,
                              const scalar_t* __restrict__ values, const int64_t* faces, int64_t S, int64_t D,
                              int64_t F, int64_t rows, scalar_t* out) {
  MG_CUDA_KERNEL_LOOP(i, S * D) {
    const int64_t s = i / D, d = i - s * D;
    const int64_t f = p2f[s];
    acc_t acc = 0;
    if (f >= 0 && f < F) {
      for (int k = 0; k < 3; ++k) {
        const int64_t row = value_row(faces, f, k, rows);
        if (row >= 0) acc += static_cast<acc_t>(bary[3 * s + k]) * static_cast<acc_t>(values[row * D + d]);
      }
    }
    out[i] = static_cast<scalar_t>(acc);
  }
}

template <typename scalar_t, typename acc_t>
__global__ void interp_backward_kernel(const scalar_t* __restrict__ grad, const int64_t* __restrict__ p2f,
                                       const scalar_t* __restrict__ bary, const scalar_t* __restrict__ values,
                                       const int64_t* faces, int64_t S, int64_t D, int64_t F, int64_t rows,
                                       scalar_t* grad_bary, acc_t* grad_values) {
  MG_CUDA_KERNEL_LOOP(s, S) {
    const int64_t f = p2f[s];
    if (f < 0 || f >= F) continue;
    for (int k = 0; k < 3; ++k) {
      const int64_t row = value_row(faces, f, k, rows);
      if (row < 0) continue;
      const acc_t w = static_cast<acc_t>(bary[3 * s + k]);
      acc_t acc = 0;
      for (int64_t d = 0; d < D; ++d) {
        const acc_t g = static_cast<acc_t>(grad[s * D + d]);
        acc += g * static_cast<acc_t>(values[row * D + d]);
        if (grad_values != nullptr) atomicAdd(grad_values + row * D + d, w * g);
      }
      grad_bary[3 * s + k] = static_cast<scalar_t>(acc);
    }
  }
}

at::Tensor interpolate_cuda(const at::Tensor& pix_to_face, const at::Tensor& bary, const at::Tensor& values,
                            const c10::optional<at::Tensor>& faces) {
  check_inputs(pix_to_face, bary, values, faces);
  const c10::cuda::CUDAGuard guard(values.device());
  const int64_t D = values.size(-1), F = num_faces(values, faces), S = pix_to_face.numel();
  std::vector<int64_t> shape(pix_to_face.sizes().begin(), pix_to_face.sizes().end());
  shape.push_back(D);
  auto out = at::empty(shape, values.options());
  if (out.numel() == 0) return out;
  const Contiguous in = contiguous_inputs(pix_to_face, bary, values, faces);
  const at::Tensor &p2f = in.p2f, &b = in.bary, &v = in.values, &fc = in.faces;
  MG_DISPATCH_FLOATING_TYPES(v.scalar_type(), "interpolate_face_attributes_cuda", [&] {
    interp_kernel<scalar_t, mg::acc_t<scalar_t>><<<cuda::num_blocks(S * D), cuda::kThreads, 0, c10::cuda::getCurrentCUDAStream()>>>(
        p2f.const_data_ptr<int64_t>(), b.const_data_ptr<scalar_t>(), v.const_data_ptr<scalar_t>(),
        fc.defined() ? fc.const_data_ptr<int64_t>() : nullptr, S, D, F, num_value_rows(v),
        out.mutable_data_ptr<scalar_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return out;
}

std::tuple<at::Tensor, at::Tensor> interpolate_backward_cuda(const at::Tensor& grad, const at::Tensor& pix_to_face,
                                                             const at::Tensor& bary, const at::Tensor& values,
                                                             const c10::optional<at::Tensor>& faces) {
  check_inputs(pix_to_face, bary, values, faces);
  check_grad(grad, pix_to_face, values);
  const c10::cuda::CUDAGuard guard(values.device());
  const int64_t D = values.size(-1), F = num_faces(values, faces), S = pix_to_face.numel();
  const auto dt = values.scalar_type();
  auto grad_bary = at::zeros(bary.sizes(), bary.options());
  // grad_values summed in the accumulation dtype (float32 for float16 / bfloat16), converted at the end
  auto grad_values = at::zeros(values.sizes(), values.options().dtype(at::toOpMathType(dt)));
  if (S == 0 || D == 0) return {grad_bary, grad_values.to(dt)};
  const auto g = grad.to(dt).contiguous();
  const Contiguous in = contiguous_inputs(pix_to_face, bary, values, faces);
  const at::Tensor &p2f = in.p2f, &b = in.bary, &v = in.values, &fc = in.faces;
  // grad_values: atomicAdd in the kernel, or (deterministic algorithms) the ATen reduction after it
  const bool deterministic = use_deterministic_path(values);
  if (!deterministic) alert_atomic_reduction("interpolate_face_attributes_backward_cuda");
  MG_DISPATCH_FLOATING_TYPES(v.scalar_type(), "interpolate_face_attributes_backward_cuda", [&] {
    using acc_t = mg::acc_t<scalar_t>;
    interp_backward_kernel<scalar_t, acc_t><<<cuda::num_blocks(S), cuda::kThreads, 0,
                                              c10::cuda::getCurrentCUDAStream()>>>(
        g.const_data_ptr<scalar_t>(), p2f.const_data_ptr<int64_t>(), b.const_data_ptr<scalar_t>(),
        v.const_data_ptr<scalar_t>(), fc.defined() ? fc.const_data_ptr<int64_t>() : nullptr, S, D, F,
        num_value_rows(v), grad_bary.mutable_data_ptr<scalar_t>(),
        deterministic ? nullptr : grad_values.mutable_data_ptr<acc_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  if (deterministic) return {grad_bary, grad_values_deterministic(g, p2f, b, v, faces)};
  return {grad_bary, grad_values.to(dt)};  // no copy for float32 / float64
}

}  // namespace
}  // namespace interp
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CUDA, m) {
  m.impl("interpolate_face_attributes", &mg::interp::interpolate_cuda);
  m.impl("interpolate_face_attributes_backward", &mg::interp::interpolate_backward_cuda);
}
