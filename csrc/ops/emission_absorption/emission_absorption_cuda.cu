// CUDA kernels for emission_absorption (contract in emission_absorption.h). Forward: one thread per ray runs the
// weight scan (ray_weights, into an (R, P) buffer), then one thread per (ray, channel) sums w_k f[k, c] in k order
// (coalesced over channels). Backward: one thread per (ray, sample) forms G_k, one thread per ray runs the two
// scans (ray_density_grads), one thread per (ray, sample, channel) writes w_k g_c. The shared scans and summation
// orders make the results bit-identical to the CPU kernels. No atomics, no host syncs.
#include <ATen/Dispatch.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include <tuple>

#include "../../common/cuda_utils.cuh"
#include "../../common/dispatch.h"
#include "emission_absorption.h"

namespace mg {
namespace raymarch {
namespace {

template <typename scalar_t, typename acc_t>
__global__ void weights_kernel(const scalar_t* __restrict__ d, int64_t R, int64_t P, int64_t shift, acc_t one_eps,
                               acc_t* __restrict__ w, scalar_t* __restrict__ opacity) {
  MG_CUDA_KERNEL_LOOP(r, R) {
    opacity[r] = static_cast<scalar_t>(ray_weights<scalar_t, acc_t>(d + r * P, P, shift, one_eps, w + r * P));
  }
}

template <typename scalar_t, typename acc_t>
__global__ void composite_kernel(const scalar_t* __restrict__ f, const acc_t* __restrict__ w, int64_t R, int64_t P,
                                 int64_t C, scalar_t* __restrict__ out) {
  MG_CUDA_KERNEL_LOOP(i, R * C) {
    const int64_t r = i / C, c = i % C;
    const scalar_t* fr = f + r * P * C + c;
    const acc_t* wr = w + r * P;
    acc_t acc = 0;
    for (int64_t k = 0; k < P; ++k) acc += wr[k] * static_cast<acc_t>(fr[k * C]);
    out[i] = static_cast<scalar_t>(acc);
  }
}

template <typename scalar_t, typename acc_t>
__global__ void dots_kernel(const scalar_t* __restrict__ f, const scalar_t* __restrict__ g, int64_t R, int64_t P,
                            int64_t C, acc_t* __restrict__ G) {
  MG_CUDA_KERNEL_LOOP(i, R * P) {
    const int64_t r = i / P;
    const scalar_t* fk = f + i * C;
    const scalar_t* gr = g + r * C;
    acc_t s = 0;
    for (int64_t c = 0; c < C; ++c) s += static_cast<acc_t>(gr[c]) * static_cast<acc_t>(fk[c]);
    G[i] = s;
  }
}

template <typename scalar_t, typename acc_t>
__global__ void scans_kernel(const scalar_t* __restrict__ d, const scalar_t* __restrict__ go, int64_t R, int64_t P,
                             int64_t shift, acc_t one_eps, acc_t* __restrict__ G, acc_t* __restrict__ su,
                             scalar_t* __restrict__ gd) {
  MG_CUDA_KERNEL_LOOP(r, R) {
    ray_density_grads<scalar_t, acc_t>(d + r * P, P, shift, one_eps, static_cast<acc_t>(go[r]), G + r * P,
                                       su + 2 * r * P, gd + r * P);
  }
}

template <typename scalar_t, typename acc_t>
__global__ void feature_grads_kernel(const acc_t* __restrict__ w, const scalar_t* __restrict__ g, int64_t R,
                                     int64_t P, int64_t C, scalar_t* __restrict__ gf) {
  MG_CUDA_KERNEL_LOOP(i, R * P * C) {
    const int64_t c = i % C, rk = i / C, r = rk / P;
    gf[i] = static_cast<scalar_t>(w[rk] * static_cast<acc_t>(g[r * C + c]));
  }
}

std::tuple<at::Tensor, at::Tensor> emission_absorption_cuda(const at::Tensor& densities, const at::Tensor& features,
                                                            double eps, int64_t surface_thickness) {
  const Call c = forward_call(densities, features, surface_thickness);
  const c10::cuda::CUDAGuard guard(features.device());
  if (c.empty) return {c.out_a, c.out_b};
  const int64_t R = c.R, P = c.P, C = c.C;
  const auto stream = c10::cuda::getCurrentCUDAStream();
  MG_DISPATCH_FLOATING_TYPES(features.scalar_type(), "emission_absorption_cuda", [&] {
    using acc_t = mg::acc_t<scalar_t>;
    auto w = at::empty({R, P}, features.options().dtype(c10::CppTypeToScalarType<acc_t>::value));
    weights_kernel<scalar_t, acc_t><<<cuda::num_blocks(R), cuda::kThreads, 0, stream>>>(
        c.d.const_data_ptr<scalar_t>(), R, P, surface_thickness, static_cast<acc_t>(1.0 + eps),
        w.mutable_data_ptr<acc_t>(), c.out_b.mutable_data_ptr<scalar_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    if (C > 0) {
      composite_kernel<scalar_t, acc_t><<<cuda::num_blocks(R * C), cuda::kThreads, 0, stream>>>(
          c.f.const_data_ptr<scalar_t>(), w.const_data_ptr<acc_t>(), R, P, C, c.out_a.mutable_data_ptr<scalar_t>());
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
  });
  return {c.out_a, c.out_b};
}

std::tuple<at::Tensor, at::Tensor> emission_absorption_backward_cuda(const at::Tensor& grad_features,
                                                                     const at::Tensor& grad_opacities,
                                                                     const at::Tensor& densities,
                                                                     const at::Tensor& features, double eps,
                                                                     int64_t surface_thickness) {
  const Call c = backward_call(grad_features, grad_opacities, densities, features, surface_thickness);
  const c10::cuda::CUDAGuard guard(features.device());
  if (c.empty) return {c.out_a, c.out_b};
  const int64_t R = c.R, P = c.P, C = c.C;
  const auto stream = c10::cuda::getCurrentCUDAStream();
  MG_DISPATCH_FLOATING_TYPES(features.scalar_type(), "emission_absorption_backward_cuda", [&] {
    using acc_t = mg::acc_t<scalar_t>;
    const auto acc_opts = features.options().dtype(c10::CppTypeToScalarType<acc_t>::value);
    auto G = at::empty({R, P}, acc_opts);
    auto su = at::empty({R, P, 2}, acc_opts);
    dots_kernel<scalar_t, acc_t><<<cuda::num_blocks(R * P), cuda::kThreads, 0, stream>>>(
        c.f.const_data_ptr<scalar_t>(), c.g.const_data_ptr<scalar_t>(), R, P, C, G.mutable_data_ptr<acc_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    scans_kernel<scalar_t, acc_t><<<cuda::num_blocks(R), cuda::kThreads, 0, stream>>>(
        c.d.const_data_ptr<scalar_t>(), c.go.const_data_ptr<scalar_t>(), R, P, surface_thickness,
        static_cast<acc_t>(1.0 + eps), G.mutable_data_ptr<acc_t>(), su.mutable_data_ptr<acc_t>(),
        c.out_a.mutable_data_ptr<scalar_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    if (C > 0) {
      feature_grads_kernel<scalar_t, acc_t><<<cuda::num_blocks(R * P * C), cuda::kThreads, 0, stream>>>(
          G.const_data_ptr<acc_t>(), c.g.const_data_ptr<scalar_t>(), R, P, C, c.out_b.mutable_data_ptr<scalar_t>());
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
  });
  return {c.out_a, c.out_b};
}

}  // namespace
}  // namespace raymarch
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CUDA, m) {
  m.impl("emission_absorption", &mg::raymarch::emission_absorption_cuda);
  m.impl("emission_absorption_backward", &mg::raymarch::emission_absorption_backward_cuda);
}
