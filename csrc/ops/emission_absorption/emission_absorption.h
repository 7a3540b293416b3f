// emission_absorption: PyTorch3D's EmissionAbsorptionRaymarcher / AbsorptionOnlyRaymarcher along each ray, fused.
//
//   emission_absorption(densities (R, P), features (R, P, C), float eps, int surface_thickness)
//       -> (features_out (R, C), opacities (R,))
//     With x_j = (1 + eps) - d_j (1 + eps rounded to the accumulation type once, as PyTorch3D's Python float
//     meets the tensor's dtype) and s = surface_thickness >= 1:
//       A_k = prod_{j <= k - s} x_j           (PyTorch3D's _shifted_cumprod: the cumprod shifted s samples)
//       w_k = d_k A_k
//       features_out[r, c] = sum_k w_k features[r, k, c]           (summed in k order)
//       opacities[r] = 1 - prod_k (1 - d_k)                           (no eps, as PyTorch3D)
//     C may be 0 (AbsorptionOnlyRaymarcher: opacities only), P may be 0 (zero features, zero opacity).
//   emission_absorption_backward(grad_features (R, C), grad_opacities (R,), densities, features, eps,
//       surface_thickness) -> (grad_densities (R, P), grad_features (R, P, C))
//     With G_k = <grad_features[r], features[r, k]> and g_o = grad_opacities[r]:
//       dL/dfeatures[r, k, c] = w_k grad_features[r, c]
//       dL/dd_k = A_k G_k - (prod_{j<k} x_j) S_k + g_o prod_{j != k} (1 - d_j),
//       S_k = sum_{m >= k + s} d_m G_m prod_{k < j <= m - s} x_j     (S_k = d_{k+s} G_{k+s} + x_{k+1} S_{k+1})
//     one reverse scan (S_k and the suffix products of 1 - d) and one forward scan (the prefix products): O(P) per
//     ray, no division by x_k or 1 - d_k (an opaque sample has well-defined gradients), no P x P terms.
//   densities and features share one dtype (float16, bfloat16, float32, float64); products, weights and sums are
//   in acc_t<scalar_t> (float32 for the half types); outputs in the inputs' dtype. The per-ray scans below are
//   shared by the CPU and CUDA kernels (bit-identical results: no FP contraction, same order).
#pragma once

#include <c10/macros/Macros.h>

#include <cstdint>

namespace mg {
namespace raymarch {

// Weights w[k] (accumulation type) of one ray's P samples d[0, P); returns the ray's opacity.
template <typename scalar_t, typename acc_t>
C10_HOST_DEVICE inline acc_t ray_weights(const scalar_t* d, int64_t P, int64_t shift, acc_t one_eps, acc_t* w) {
  acc_t absorb = 1, trans = 1;
  for (int64_t k = 0; k < P; ++k) {
    if (k >= shift) absorb *= one_eps - static_cast<acc_t>(d[k - shift]);
    const acc_t dk = static_cast<acc_t>(d[k]);
    w[k] = dk * absorb;
    trans *= acc_t(1) - dk;
  }
  return acc_t(1) - trans;
}

// dL/dd of one ray into gd[0, P) (converted to scalar_t). G[0, P) holds G_k on entry and the weights w_k on exit
// (what the features' gradient needs); su is scratch for 2 P values (S_k, suffix products of 1 - d).
template <typename scalar_t, typename acc_t>
C10_HOST_DEVICE inline void ray_density_grads(const scalar_t* d, int64_t P, int64_t shift, acc_t one_eps, acc_t go,
                                              acc_t* G, acc_t* su, scalar_t* gd) {
  acc_t s = 0, u = 1, x_next = 0;
  for (int64_t k = P - 1; k >= 0; --k) {
    const acc_t h = shift < P - k ? static_cast<acc_t>(d[k + shift]) * G[k + shift] : acc_t(0);
    s = h + x_next * s;
    su[2 * k] = s;
    su[2 * k + 1] = u;
    const acc_t dk = static_cast<acc_t>(d[k]);
    x_next = one_eps - dk;
    u *= acc_t(1) - dk;
  }
  acc_t absorb = 1, prefix_x = 1, prefix_t = 1;
  for (int64_t k = 0; k < P; ++k) {
    if (k >= shift) absorb *= one_eps - static_cast<acc_t>(d[k - shift]);
    const acc_t dk = static_cast<acc_t>(d[k]);
    const acc_t g = absorb * G[k] - prefix_x * su[2 * k] + go * (prefix_t * su[2 * k + 1]);
    gd[k] = static_cast<scalar_t>(g);
    G[k] = dk * absorb;
    prefix_x *= one_eps - dk;
    prefix_t *= acc_t(1) - dk;
  }
}

}  // namespace raymarch
}  // namespace mg

#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>

#include "../../common/checks.h"

namespace mg {
namespace raymarch {

// Shapes, dtypes and devices of the forward's arguments (every backend).
inline void check_inputs(const at::Tensor& densities, const at::Tensor& features, int64_t surface_thickness) {
  TORCH_CHECK(densities.dim() == 2, "densities must be (R, P), got ", densities.sizes());
  TORCH_CHECK(features.dim() == 3 && features.size(0) == densities.size(0) && features.size(1) == densities.size(1),
              "features must be (R, P, C) with the (R, P) of densities ", densities.sizes(), ", got ",
              features.sizes());
  MG_CHECK_FLOATING(densities);
  TORCH_CHECK(features.scalar_type() == densities.scalar_type(), "features must have the dtype of densities (",
              densities.scalar_type(), "), got ", features.scalar_type());
  MG_CHECK_SAME_DEVICE(densities, features);
  TORCH_CHECK(surface_thickness >= 1, "surface_thickness must be >= 1, got ", surface_thickness);
}

// The backward's incoming gradients: (R, C) and (R,), floating, on the inputs' device (cast to their dtype).
inline void check_grads(const at::Tensor& grad_features, const at::Tensor& grad_opacities, const at::Tensor& features) {
  MG_CHECK_SHAPE(grad_features, {features.size(0), features.size(2)});
  MG_CHECK_SHAPE(grad_opacities, {features.size(0)});
  MG_CHECK_FLOATING(grad_features);
  MG_CHECK_FLOATING(grad_opacities);
  MG_CHECK_SAME_DEVICE(features, grad_features);
  MG_CHECK_SAME_DEVICE(features, grad_opacities);
}

// One call after its checks: sizes, the inputs made contiguous, the incoming gradients (backward) cast to the
// inputs' dtype, and the outputs allocated (forward: features (R, C), opacities (R,); backward: grad_densities
// (R, P), grad_features (R, P, C)). `empty`: no rays (and, for the backward, no points): the outputs are final.
struct Call {
  int64_t R, P, C;
  at::Tensor d, f, g, go, out_a, out_b;
  bool empty;
};

inline Call forward_call(const at::Tensor& densities, const at::Tensor& features, int64_t surface_thickness) {
  check_inputs(densities, features, surface_thickness);
  const int64_t R = features.size(0), P = features.size(1), C = features.size(2);
  return {R,  P,  C,  densities.contiguous(), features.contiguous(), {}, {}, at::empty({R, C}, features.options()),
          at::empty({R}, features.options()), R == 0};
}

inline Call backward_call(const at::Tensor& grad_features, const at::Tensor& grad_opacities,
                          const at::Tensor& densities, const at::Tensor& features, int64_t surface_thickness) {
  check_inputs(densities, features, surface_thickness);
  check_grads(grad_features, grad_opacities, features);
  const int64_t R = features.size(0), P = features.size(1), C = features.size(2);
  return {R,
          P,
          C,
          densities.contiguous(),
          features.contiguous(),
          grad_features.to(features.scalar_type()).contiguous(),
          grad_opacities.to(features.scalar_type()).contiguous(),
          at::empty({R, P}, features.options()),
          at::empty({R, P, C}, features.options()),
          R == 0 || P == 0};
}

}  // namespace raymarch
}  // namespace mg
