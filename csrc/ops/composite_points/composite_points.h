// composite_points: blend the features of each pixel's K rasterized points (PyTorch3D's compositors).
//
//   composite_points(features: (P, C), alphas: (N, H, W, K), idx: (N, H, W, K) int64, str mode) -> out (N, C, H, W)
//     out[n, :, y, x] = sum_k w_k features[idx_k], over the valid entries (idx_k in [0, P)), with
//       "alpha":         w_k = a_k prod_{j<k valid} (1 - a_j)        (front to back "over"; code 0 in the kernels)
//       "norm_weighted": w_k = a_k / max(sum_j a_j, 1e-4)           (code 1)
//       "weighted_sum":  w_k = a_k                                  (code 2)
//     Inputs are read through their strides (PyTorch3D's (C, P) features and (N, K, H, W) alphas/idx are
//     transposed views: no copies).
//   composite_points_backward(grad_out (N, C, H, W), features, alphas, idx, mode) -> (grad_features (P, C),
//     grad_alphas (N, H, W, K))
//     With G_k = <grad_out[pixel], features[idx_k]>:
//       weighted_sum: dL/da_k = G_k
//       norm:         dL/da_k = (G_k - [sum a > eps] sum_j w_j G_j) / max(sum a, eps)
//       alpha:        dL/da_k = T_k (G_k - R_k), T_k = prod_{j<k}(1 - a_j), R_k = sum_{m>k} a_m G_m prod_{k<j<m}(1 - a_j)
//     (no division by 1 - a_k: an opaque point has well-defined gradients), dL/dfeatures[p] = sum over the
//     slots holding p of w_k grad_out[pixel].
//   features (and alphas) are float16, bfloat16, float32 or float64, read in their dtype; weights, sums and
//   gradients are in acc_t<scalar_t> (float32 for the half types), outputs in the features' dtype.
#pragma once

#include <c10/macros/Macros.h>

#include <cstdint>

namespace mg {
namespace composite {

constexpr double kNormEps = 1e-4;

// Strided view of one pixel's K slots.
template <typename scalar_t>
struct PixelSlots {
  const scalar_t* alphas;
  int64_t alpha_stride;
  const int64_t* idx;
  int64_t idx_stride;
  int64_t K, P;
  C10_HOST_DEVICE int64_t point(int64_t k) const {
    const int64_t p = idx[k * idx_stride];
    return p >= 0 && p < P ? p : -1;
  }
  C10_HOST_DEVICE scalar_t alpha(int64_t k) const { return alphas[k * alpha_stride]; }
};

// Blending weights w_k (0 for invalid slots) written to w[k * w_stride]; returns sum_j a_j over valid slots.
template <typename scalar_t, typename acc_t>
C10_HOST_DEVICE inline acc_t pixel_weights(const PixelSlots<scalar_t>& s, int mode, acc_t* w, int64_t w_stride) {
  acc_t total = 0, trans = 1;
  for (int64_t k = 0; k < s.K; ++k) {
    if (s.point(k) < 0) {
      w[k * w_stride] = 0;
      continue;
    }
    const acc_t a = static_cast<acc_t>(s.alpha(k));
    total += a;
    if (mode == 0) {
      w[k * w_stride] = a * trans;
      trans *= acc_t(1) - a;
    } else {
      w[k * w_stride] = a;
    }
  }
  if (mode == 1) {
    const acc_t d = total > acc_t(kNormEps) ? total : acc_t(kNormEps);
    for (int64_t k = 0; k < s.K; ++k) w[k * w_stride] /= d;
  }
  return total;
}

// grad_alphas of one pixel from G (G_k stored in ga[k * ga_stride] on entry; replaced by dL/da_k). ga is in the
// accumulation type (the op converts the finished grad_alphas to the alphas' dtype).
template <typename scalar_t, typename acc_t>
C10_HOST_DEVICE inline void pixel_alpha_grads(const PixelSlots<scalar_t>& s, int mode, acc_t total, const acc_t* w,
                                              int64_t w_stride, acc_t* ga, int64_t ga_stride) {
  if (mode == 2) return;  // dL/da_k = G_k already
  if (mode == 1) {
    const acc_t d = total > acc_t(kNormEps) ? total : acc_t(kNormEps);
    acc_t wg = 0;
    for (int64_t k = 0; k < s.K; ++k)
      if (s.point(k) >= 0) wg += w[k * w_stride] * static_cast<acc_t>(ga[k * ga_stride]);
    const acc_t sub = total > acc_t(kNormEps) ? wg : acc_t(0);
    for (int64_t k = 0; k < s.K; ++k) ga[k * ga_stride] = s.point(k) >= 0 ? (ga[k * ga_stride] - sub) / d : acc_t(0);
    return;
  }
  // alpha: reverse pass for R_k, then the forward transmittance T_k
  acc_t R = 0;
  for (int64_t k = s.K - 1; k >= 0; --k) {
    if (s.point(k) < 0) {
      ga[k * ga_stride] = 0;
      continue;
    }
    const acc_t a = static_cast<acc_t>(s.alpha(k));
    const acc_t G = ga[k * ga_stride];
    ga[k * ga_stride] = G - R;
    R = a * G + (acc_t(1) - a) * R;
  }
  acc_t trans = 1;
  for (int64_t k = 0; k < s.K; ++k) {
    if (s.point(k) < 0) continue;
    ga[k * ga_stride] = ga[k * ga_stride] * trans;
    trans *= acc_t(1) - static_cast<acc_t>(s.alpha(k));
  }
}

}  // namespace composite
}  // namespace mg

#include <ATen/core/Tensor.h>
#include <c10/util/string_view.h>

#include "../../common/checks.h"
#include "../../common/determinism.h"

namespace mg {
namespace composite {

// The schema's mode string as the kernels' code (0 alpha, 1 norm_weighted, 2 weighted_sum).
inline int mode_code(c10::string_view mode) {
  if (mode == "alpha") return 0;
  if (mode == "norm_weighted") return 1;
  TORCH_CHECK(mode == "weighted_sum", "mode must be \"alpha\", \"norm_weighted\" or \"weighted_sum\", got \"", mode, "\"");
  return 2;
}

// Devices, dtypes and shapes of every argument (on every backend). idx values are not checked: slots whose
// index is outside [0, P) are skipped by every kernel.
inline void check_inputs(const at::Tensor& features, const at::Tensor& alphas, const at::Tensor& idx) {
  TORCH_CHECK(features.dim() == 2, "features must be (P, C), got ", features.sizes());
  MG_CHECK_FLOATING(features);
  TORCH_CHECK(alphas.dim() == 4 && idx.dim() == 4 && alphas.sizes() == idx.sizes(),
              "alphas and idx must both be (N, H, W, K)");
  TORCH_CHECK(alphas.scalar_type() == features.scalar_type(), "alphas must have the dtype of features");
  MG_CHECK_DTYPE(idx, at::kLong);
  MG_CHECK_SAME_DEVICE(features, alphas);
  MG_CHECK_SAME_DEVICE(features, idx);
}

// The backward's grad_out: (N, C, H, W), floating, on the device of features (it is cast to their dtype).
inline void check_grad_out(const at::Tensor& grad_out, const at::Tensor& features, const at::Tensor& alphas) {
  MG_CHECK_SHAPE(grad_out, {alphas.size(0), features.size(1), alphas.size(1), alphas.size(2)});
  MG_CHECK_FLOATING(grad_out);
  MG_CHECK_SAME_DEVICE(features, grad_out);
}

// grad_features of the backward without atomics (ATen ops, any device): weights (N * H * W * K,) are the slots'
// blending weights w_k (pixel_weights, 0 for invalid slots); the terms w_k grad_out[pixel] are summed with
// index_put_(accumulate=true), deterministic when PyTorch's deterministic algorithms are on (determinism.h).
// Computed and returned in the weights' dtype (the accumulation dtype).
at::Tensor grad_features_deterministic(const at::Tensor& grad_out, const at::Tensor& idx, const at::Tensor& weights,
                                       int64_t P);

}  // namespace composite
}  // namespace mg
