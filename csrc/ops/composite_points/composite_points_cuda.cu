// CUDA kernels for composite_points (contract in composite_points.h): one thread per pixel; the backward adds
// feature gradients with atomicAdd (or, with deterministic algorithms, the ATen reduction over the slot weights
// the kernel leaves in wbuf) and uses grad_alphas as its per-slot scratch (no per-thread K-sized arrays).
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include <tuple>

#include "../../common/cuda_utils.cuh"
#include "../../common/dispatch.h"
#include "composite_points.h"

namespace mg {
namespace composite {
namespace {

struct Strides4 {
  int64_t s[4];
};

inline Strides4 strides4(const at::Tensor& t) { return {{t.stride(0), t.stride(1), t.stride(2), t.stride(3)}}; }

// Features, alphas and grad_out are read in their dtype (scalar_t); weights, sums, scratch and gradients are acc_t.
template <typename scalar_t, typename acc_t>
__global__ void composite_kernel(const scalar_t* __restrict__ fp, int64_t sf0, int64_t sf1, const scalar_t* ap, Strides4 sa,
                                 const int64_t* ip, Strides4 si, int64_t N, int64_t H, int64_t W, int64_t K, int64_t P,
                                 int64_t C, int mode, acc_t* wbuf, scalar_t* out) {
  const int64_t HW = H * W;
  MG_CUDA_KERNEL_LOOP(pix, N * HW) {
    const int64_t n = pix / HW, y = (pix / W) % H, x = pix % W;
    const PixelSlots<scalar_t> s{ap + n * sa.s[0] + y * sa.s[1] + x * sa.s[2], sa.s[3],
                                 ip + n * si.s[0] + y * si.s[1] + x * si.s[2], si.s[3], K, P};
    acc_t* w = wbuf + pix * K;
    pixel_weights<scalar_t, acc_t>(s, mode, w, 1);
    scalar_t* o = out + n * C * HW + y * W + x;
    for (int64_t c = 0; c < C; ++c) {
      acc_t acc = 0;
      for (int64_t k = 0; k < K; ++k) {
        const int64_t p = s.point(k);
        if (p >= 0) acc += w[k] * static_cast<acc_t>(fp[p * sf0 + c * sf1]);
      }
      o[c * HW] = static_cast<scalar_t>(acc);
    }
  }
}

template <typename scalar_t, typename acc_t>
__global__ void composite_backward_kernel(const scalar_t* __restrict__ go, const scalar_t* __restrict__ fp, int64_t sf0,
                                          int64_t sf1, const scalar_t* ap, Strides4 sa, const int64_t* ip, Strides4 si,
                                          int64_t N, int64_t H, int64_t W, int64_t K, int64_t P, int64_t C, int mode,
                                          acc_t* wbuf, acc_t* grad_f, acc_t* grad_a) {
  const int64_t HW = H * W;
  MG_CUDA_KERNEL_LOOP(pix, N * HW) {
    const int64_t n = pix / HW, y = (pix / W) % H, x = pix % W;
    const PixelSlots<scalar_t> s{ap + n * sa.s[0] + y * sa.s[1] + x * sa.s[2], sa.s[3],
                                 ip + n * si.s[0] + y * si.s[1] + x * si.s[2], si.s[3], K, P};
    acc_t* w = wbuf + pix * K;
    const acc_t total = pixel_weights<scalar_t, acc_t>(s, mode, w, 1);
    const scalar_t* g = go + n * C * HW + y * W + x;  // grad_out (N, C, H, W) contiguous
    acc_t* ga = grad_a + pix * K;
    for (int64_t k = 0; k < K; ++k) {
      const int64_t p = s.point(k);
      acc_t G = 0;
      if (p >= 0) {
        for (int64_t c = 0; c < C; ++c) {
          const acc_t gc = static_cast<acc_t>(g[c * HW]);
          G += gc * static_cast<acc_t>(fp[p * sf0 + c * sf1]);
          if (grad_f != nullptr) atomicAdd(grad_f + p * C + c, w[k] * gc);
        }
      }
      ga[k] = G;
    }
    pixel_alpha_grads<scalar_t, acc_t>(s, mode, total, w, 1, ga, 1);
  }
}

at::Tensor composite_points_cuda(const at::Tensor& features, const at::Tensor& alphas, const at::Tensor& idx,
                                 c10::string_view mode_name) {
  check_inputs(features, alphas, idx);
  const int mode = mode_code(mode_name);
  const c10::cuda::CUDAGuard guard(features.device());
  const int64_t N = alphas.size(0), H = alphas.size(1), W = alphas.size(2), K = alphas.size(3);
  const int64_t P = features.size(0), C = features.size(1);
  auto out = at::empty({N, C, H, W}, features.options());
  if (out.numel() == 0) return out;
  auto wbuf = at::empty({N * H * W * K}, features.options().dtype(at::toOpMathType(features.scalar_type())));
  MG_DISPATCH_FLOATING_TYPES(features.scalar_type(), "composite_points_cuda", [&] {
    using acc_t = mg::acc_t<scalar_t>;
    composite_kernel<scalar_t, acc_t><<<cuda::num_blocks(N * H * W), cuda::kThreads, 0,
                                        c10::cuda::getCurrentCUDAStream()>>>(
        features.const_data_ptr<scalar_t>(), features.stride(0), features.stride(1), alphas.const_data_ptr<scalar_t>(),
        strides4(alphas), idx.const_data_ptr<int64_t>(), strides4(idx), N, H, W, K, P, C, mode,
        wbuf.mutable_data_ptr<acc_t>(), out.mutable_data_ptr<scalar_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return out;
}

std::tuple<at::Tensor, at::Tensor> composite_points_backward_cuda(const at::Tensor& grad_out,
                                                                  const at::Tensor& features, const at::Tensor& alphas,
                                                                  const at::Tensor& idx, c10::string_view mode_name) {
  check_inputs(features, alphas, idx);
  const int mode = mode_code(mode_name);
  const c10::cuda::CUDAGuard guard(features.device());
  const int64_t N = alphas.size(0), H = alphas.size(1), W = alphas.size(2), K = alphas.size(3);
  const int64_t P = features.size(0), C = features.size(1);
  check_grad_out(grad_out, features, alphas);
  // gradients summed in the accumulation dtype (float32 for float16 / bfloat16), converted at the end
  const auto dt = features.scalar_type();
  const auto acc_opts = features.options().dtype(at::toOpMathType(dt));
  auto grad_f = at::zeros({P, C}, acc_opts);
  auto grad_a = at::zeros({N, H, W, K}, acc_opts);
  if (N * H * W * K == 0) return {grad_f.to(dt), grad_a.to(dt)};
  const auto go = grad_out.to(dt).contiguous();
  auto wbuf = at::empty({N * H * W * K}, acc_opts);
  // grad_features: atomicAdd in the kernel, or (deterministic algorithms) the ATen reduction over the kernel's
  // slot weights after it
  const bool deterministic = use_deterministic_path(features);
  if (!deterministic) alert_atomic_reduction("composite_points_backward_cuda");
  MG_DISPATCH_FLOATING_TYPES(dt, "composite_points_backward_cuda", [&] {
    using acc_t = mg::acc_t<scalar_t>;
    composite_backward_kernel<scalar_t, acc_t><<<cuda::num_blocks(N * H * W), cuda::kThreads, 0,
                                                 c10::cuda::getCurrentCUDAStream()>>>(
        go.const_data_ptr<scalar_t>(), features.const_data_ptr<scalar_t>(), features.stride(0), features.stride(1),
        alphas.const_data_ptr<scalar_t>(), strides4(alphas), idx.const_data_ptr<int64_t>(), strides4(idx), N, H, W, K,
        P, C, mode, wbuf.mutable_data_ptr<acc_t>(),
        deterministic ? nullptr : grad_f.mutable_data_ptr<acc_t>(), grad_a.mutable_data_ptr<acc_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  if (deterministic) grad_f = grad_features_deterministic(go, idx, wbuf, P);
  return {grad_f.to(dt), grad_a.to(dt)};  // no copy for float32 / float64
}

}  // namespace
}  // namespace composite
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CUDA, m) {
  m.impl("composite_points", &mg::composite::composite_points_cuda);
  m.impl("composite_points_backward", &mg::composite::composite_points_backward_cuda);
}
