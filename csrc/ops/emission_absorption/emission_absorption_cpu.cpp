// CPU kernels for emission_absorption (contract in emission_absorption.h): parallel over rays, one ray per
// iteration with the shared scans of emission_absorption.h (per-thread buffers of P weights / 3 P scan values).
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <torch/library.h>

#include <algorithm>
#include <tuple>
#include <vector>

#include "../../common/cpu_kernels.h"
#include "../../common/dispatch.h"
#include "emission_absorption.h"

namespace mg {
namespace raymarch {
namespace {

int64_t grain(int64_t P, int64_t C) { return std::max<int64_t>(1, 32768 / std::max<int64_t>(1, P * (C + 2))); }

std::tuple<at::Tensor, at::Tensor> emission_absorption_cpu(const at::Tensor& densities, const at::Tensor& features,
                                                           double eps, int64_t surface_thickness) {
  const Call call = forward_call(densities, features, surface_thickness);
  if (call.empty) return {call.out_a, call.out_b};
  const int64_t R = call.R, P = call.P, C = call.C;
  const auto &d = call.d, &f = call.f, &out = call.out_a, &opacity = call.out_b;
  MG_DISPATCH_FLOATING_TYPES(features.scalar_type(), "emission_absorption_cpu", [&] {
    using acc_t = mg::acc_t<scalar_t>;
    const acc_t one_eps = static_cast<acc_t>(1.0 + eps);
    const scalar_t* dp = d.const_data_ptr<scalar_t>();
    const scalar_t* fp = f.const_data_ptr<scalar_t>();
    scalar_t* op = out.mutable_data_ptr<scalar_t>();
    scalar_t* opa = opacity.mutable_data_ptr<scalar_t>();
    at::parallel_for(0, R, grain(P, C), [&](int64_t lo, int64_t hi) {
      std::vector<acc_t> w(P), acc(C);
      cpu::dispatch_isa([&] {
        for (int64_t r = lo; r < hi; ++r) {
          opa[r] = static_cast<scalar_t>(ray_weights<scalar_t, acc_t>(dp + r * P, P, surface_thickness, one_eps,
                                                                       w.data()));
          std::fill(acc.begin(), acc.end(), acc_t(0));
          const scalar_t* fr = fp + r * P * C;
          for (int64_t k = 0; k < P; ++k) {
            const acc_t wk = w[k];
            const scalar_t* fk = fr + k * C;
            for (int64_t c = 0; c < C; ++c) acc[c] += wk * static_cast<acc_t>(fk[c]);
          }
          scalar_t* o = op + r * C;
          for (int64_t c = 0; c < C; ++c) o[c] = static_cast<scalar_t>(acc[c]);
        }
      });
    });
  });
  return {out, opacity};
}

std::tuple<at::Tensor, at::Tensor> emission_absorption_backward_cpu(const at::Tensor& grad_features,
                                                                    const at::Tensor& grad_opacities,
                                                                    const at::Tensor& densities,
                                                                    const at::Tensor& features, double eps,
                                                                    int64_t surface_thickness) {
  const Call call = backward_call(grad_features, grad_opacities, densities, features, surface_thickness);
  if (call.empty) return {call.out_a, call.out_b};
  const int64_t R = call.R, P = call.P, C = call.C;
  const auto &d = call.d, &f = call.f, &gfo = call.g, &go = call.go, &gd = call.out_a, &gf = call.out_b;
  MG_DISPATCH_FLOATING_TYPES(features.scalar_type(), "emission_absorption_backward_cpu", [&] {
    using acc_t = mg::acc_t<scalar_t>;
    const acc_t one_eps = static_cast<acc_t>(1.0 + eps);
    const scalar_t* dp = d.const_data_ptr<scalar_t>();
    const scalar_t* fp = f.const_data_ptr<scalar_t>();
    const scalar_t* gp = gfo.const_data_ptr<scalar_t>();
    const scalar_t* gop = go.const_data_ptr<scalar_t>();
    scalar_t* gdp = gd.mutable_data_ptr<scalar_t>();
    scalar_t* gfp = gf.mutable_data_ptr<scalar_t>();
    at::parallel_for(0, R, grain(P, C), [&](int64_t lo, int64_t hi) {
      std::vector<acc_t> G(P), su(2 * P), g(C);
      cpu::dispatch_isa([&] {
        for (int64_t r = lo; r < hi; ++r) {
          const scalar_t* fr = fp + r * P * C;
          for (int64_t c = 0; c < C; ++c) g[c] = static_cast<acc_t>(gp[r * C + c]);
          for (int64_t k = 0; k < P; ++k) {  // G_k, summed in c order (the CUDA kernel's order)
            const scalar_t* fk = fr + k * C;
            acc_t s = 0;
            for (int64_t c = 0; c < C; ++c) s += g[c] * static_cast<acc_t>(fk[c]);
            G[k] = s;
          }
          ray_density_grads<scalar_t, acc_t>(dp + r * P, P, surface_thickness, one_eps,
                                             static_cast<acc_t>(gop[r]), G.data(), su.data(), gdp + r * P);
          scalar_t* gr = gfp + r * P * C;
          for (int64_t k = 0; k < P; ++k) {
            const acc_t wk = G[k];
            scalar_t* gk = gr + k * C;
            for (int64_t c = 0; c < C; ++c) gk[c] = static_cast<scalar_t>(wk * g[c]);
          }
        }
      });
    });
  });
  return {gd, gf};
}

}  // namespace
}  // namespace raymarch
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CPU, m) {
  m.impl("emission_absorption", &mg::raymarch::emission_absorption_cpu);
  m.impl("emission_absorption_backward", &mg::raymarch::emission_absorption_backward_cpu);
}
