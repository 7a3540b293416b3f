// sample_pdf: inverse-CDF sampling of piecewise-constant densities (PyTorch3D's C++ sample_pdf; NeRF's
// hierarchical sampling).
//
//   sample_pdf(bins (B, n_bins + 1), weights (B, n_bins), uniforms (B, S), float eps) -> samples (B, S)
//     Per row, with partial sums c_i = sum_{j <= i} w_j (in order) and total = c_{n_bins - 1} + eps, a quantile
//     u becomes v = total * u; its bin is i = the first i in [0, n_bins - 1) with c_i >= v, else n_bins - 1
//     (std::lower_bound over c_0 .. c_{n_bins - 2}); then v -= c_{i - 1} (i > 0) and
//       sample = bins_{i+1}                                          if v > w_i
//              = bins_i + (v / w_i) (bins_{i+1} - bins_i)            else if w_i > eps
//              = bins_i                                              otherwise.
//     This is PyTorch3D's CPU kernel (its binary search; its CUDA kernel walks the bins subtracting weights and
//     rounds differently). Unlike PyTorch3D's op, which overwrites the uniforms in place, the samples are a new
//     tensor. Not differentiable (PyTorch3D's sample_pdf raises on inputs that require grad).
//   bins and weights share one dtype (float16, bfloat16, float32, float64); uniforms, partial sums and the
//   interpolation are in acc_t (float32 for the half types, float64 for float64); samples in the bins' dtype.
//   n_bins >= 1 (checked). Uniforms are not clamped (as PyTorch3D): u > 1 gives the last edge, u < 0 extrapolates
//   the first bin's line, NaN gives bin 0's rule applied to NaN; no input reads out of bounds.
#pragma once

#include <c10/macros/Macros.h>

#include <cstdint>

namespace mg {
namespace pdf {

// Partial sums c[0, n) of one row's weights, in order; returns total + eps.
template <typename scalar_t, typename acc_t>
C10_HOST_DEVICE inline acc_t row_partial_sums(const scalar_t* w, int64_t n, acc_t eps, acc_t* c) {
  acc_t total = 0;
  for (int64_t i = 0; i < n; ++i) {
    total += static_cast<acc_t>(w[i]);
    c[i] = total;
  }
  return total + eps;
}

// The sample of bin i (found for v = total * u) from v (see the contract above).
template <typename scalar_t, typename acc_t>
C10_HOST_DEVICE inline scalar_t sample_in_bin(const scalar_t* bins, const scalar_t* w, const acc_t* c, int64_t i,
                                              acc_t v, acc_t eps) {
  if (i > 0) v -= c[i - 1];
  const acc_t start = static_cast<acc_t>(bins[i]), end = static_cast<acc_t>(bins[i + 1]);
  const acc_t bw = static_cast<acc_t>(w[i]);
  acc_t out = start;
  if (v > bw) {
    out = end;
  } else if (bw > eps) {
    out = start + (v / bw) * (end - start);
  }
  return static_cast<scalar_t>(out);
}

// One sample of a row from its quantile u (see the contract above). n >= 1.
template <typename scalar_t, typename acc_t>
C10_HOST_DEVICE inline scalar_t sample_one(const scalar_t* bins, const scalar_t* w, const acc_t* c, int64_t n,
                                           acc_t total, acc_t eps, acc_t u) {
  const acc_t v = total * u;
  int64_t lo = 0, hi = n - 1;  // lower_bound over c[0, n - 1)
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (c[mid] < v) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return sample_in_bin(bins, w, c, lo, v, eps);
}

}  // namespace pdf
}  // namespace mg

#include <ATen/OpMathType.h>
#include <ATen/core/Tensor.h>

#include "../../common/checks.h"

namespace mg {
namespace pdf {

inline void check_inputs(const at::Tensor& bins, const at::Tensor& weights, const at::Tensor& uniforms) {
  TORCH_CHECK(weights.dim() == 2 && weights.size(1) >= 1, "weights must be (B, n_bins) with n_bins >= 1, got ",
              weights.sizes());
  TORCH_CHECK(bins.dim() == 2 && bins.size(0) == weights.size(0) && bins.size(1) == weights.size(1) + 1,
              "bins must be (B, n_bins + 1) = (", weights.size(0), ", ", weights.size(1) + 1, "), got ",
              bins.sizes());
  TORCH_CHECK(uniforms.dim() == 2 && uniforms.size(0) == weights.size(0), "uniforms must be (B, n_samples) with B = ",
              weights.size(0), ", got ", uniforms.sizes());
  MG_CHECK_FLOATING(bins);
  MG_CHECK_SAME_DTYPE(bins, weights);
  const auto acc = at::toOpMathType(bins.scalar_type());
  TORCH_CHECK(uniforms.scalar_type() == acc, "uniforms must be ", acc, " (the accumulation dtype of ",
              bins.scalar_type(), " bins), got ", uniforms.scalar_type());
  MG_CHECK_SAME_DEVICE(bins, weights);
  MG_CHECK_SAME_DEVICE(bins, uniforms);
}

}  // namespace pdf
}  // namespace mg
