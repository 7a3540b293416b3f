// spline_basis: SplineCNN's B-spline tensor-product basis (Fey et al. 2018), the semantics of torch_spline_conv /
// pyg-lib's spline_basis.
//
//   spline_basis(pseudo: (E, D) float, kernel_size: (D,) int64, is_open_spline: (D,) uint8|bool, degree: 1..3)
//       -> basis (E, S) dtype of pseudo, weight_index (E, S) int64, S = (degree + 1)^D
//     Per dimension d: v = pseudo[e, d] * (kernel_size[d] - degree * is_open_spline[d]), cell = floor(v),
//     t = v - cell. Basis function s picks k_d = (s / (degree + 1)^d) % (degree + 1) in every dimension:
//       basis[e, s]        = prod over d of B_degree(t_d, k_d)     (the uniform B-spline pieces below)
//       weight_index[e, s] = sum over d of ((cell_d + k_d) mod kernel_size[d]) * prod over d' < d of kernel_size[d']
//     mod is the non-negative remainder: pseudo outside [0, 1] wraps around periodically. For pseudo >= 0 this is
//     exactly torch_spline_conv's (int64_t)v; for negative pseudo torch_spline_conv truncates towards zero and
//     produces negative weight indices (an out-of-bounds read in its weighting): here floor keeps it periodic.
//     Non-finite pseudo gives cell 0 (the basis is NaN / inf, the index stays valid).
//
//   spline_basis_backward(grad_basis: (E, S), pseudo, kernel_size, is_open_spline, degree) -> grad_pseudo (E, D)
//     grad_pseudo[e, d] = (kernel_size[d] - degree * is_open[d]) * sum over s of grad_basis[e, s] *
//                         B'_degree(t_d, k_d) * prod over d' != d of B_degree(t_d', k_d')
//     (the other dimensions multiplied in increasing order, as torch_spline_conv does).
//
// Accumulation in float32 for float16 / bfloat16 (float64 for float64). The formulas are the shared
// C10_HOST_DEVICE helpers below, so CPU and CUDA give bit-identical results (no FMA contraction, dispatch.h).
// Checks on every backend: devices, dtypes, shapes, degree in 1..3. kernel_size values are not read on the host
// (they may live on the GPU): a kernel size below 1 is treated as 1, so weight_index always lies in
// [0, prod(max(kernel_size, 1))). The Python wrapper rejects such sizes where it can read them.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/macros/Macros.h>
#include <c10/util/Exception.h>

#include <cmath>
#include <cstdint>

#include "../../common/checks.h"

namespace mg {
namespace spline {

// The (degree + 1) pieces of the uniform B-spline of `degree` on [0, 1): piece k at t.
template <typename acc_t, int DEG>
C10_HOST_DEVICE inline acc_t basis_piece(acc_t t, int64_t k) {
  if (DEG == 1) return acc_t(1) - t - acc_t(k) + acc_t(2) * t * acc_t(k);
  if (DEG == 2) {
    if (k == 0) return acc_t(0.5) * t * t - t + acc_t(0.5);
    if (k == 1) return -t * t + t + acc_t(0.5);
    return acc_t(0.5) * t * t;
  }
  if (k == 0) return (acc_t(1) - t) * (acc_t(1) - t) * (acc_t(1) - t) / acc_t(6);
  if (k == 1) return (acc_t(3) * t * t * t - acc_t(6) * t * t + acc_t(4)) / acc_t(6);
  if (k == 2) return (acc_t(-3) * t * t * t + acc_t(3) * t * t + acc_t(3) * t + acc_t(1)) / acc_t(6);
  return t * t * t / acc_t(6);
}

// d basis_piece / dt.
template <typename acc_t, int DEG>
C10_HOST_DEVICE inline acc_t basis_piece_grad(acc_t t, int64_t k) {
  if (DEG == 1) return acc_t(2 * k - 1);
  if (DEG == 2) {
    if (k == 0) return t - acc_t(1);
    if (k == 1) return acc_t(-2) * t + acc_t(1);
    return t;
  }
  if (k == 0) return (-t * t + acc_t(2) * t - acc_t(1)) / acc_t(2);
  if (k == 1) return (acc_t(3) * t * t - acc_t(4) * t) / acc_t(2);
  if (k == 2) return (acc_t(-3) * t * t + acc_t(2) * t + acc_t(1)) / acc_t(2);
  return t * t / acc_t(2);
}

// pseudo widths the kernels accept (per-thread arrays on CUDA).
constexpr int64_t kMaxDims = 16;

// A kernel size as the kernels use it: at least 1.
C10_HOST_DEVICE inline int64_t kernel_extent(int64_t k) { return k < 1 ? 1 : k; }

// The knot scale of a dimension: kernel_size - degree for open splines, kernel_size for closed ones.
C10_HOST_DEVICE inline int64_t knot_scale(int64_t kernel_size, bool open, int degree) {
  return kernel_size - (open ? degree : 0);
}

// v = p * scale split into its cell floor(v) and fraction t = v - floor(v). Non-finite or huge v: cell 0.
template <typename acc_t>
C10_HOST_DEVICE inline void knot(acc_t p, int64_t scale, acc_t* t, int64_t* cell) {
  const acc_t v = p * static_cast<acc_t>(scale);
  const acc_t fl = ::floor(v);
  *t = v - fl;
  *cell = (fl >= acc_t(-1e15) && fl <= acc_t(1e15)) ? static_cast<int64_t>(fl) : 0;
}

// (c mod n) in [0, n) for n >= 1.
C10_HOST_DEVICE inline int64_t wrap(int64_t c, int64_t n) {
  const int64_t r = c % n;
  return r < 0 ? r + n : r;
}

// (degree + 1)^D.
inline int64_t num_basis(int64_t degree, int64_t D) {
  int64_t s = 1;
  for (int64_t d = 0; d < D; ++d) s *= degree + 1;
  return s;
}

inline void check_spline_args(const at::Tensor& pseudo, const at::Tensor& kernel_size,
                              const at::Tensor& is_open_spline, int64_t degree) {
  MG_CHECK_DIM(pseudo, 2);
  MG_CHECK_FLOATING(pseudo);
  TORCH_CHECK(degree >= 1 && degree <= 3, "degree must be 1, 2 or 3, got ", degree);
  const int64_t D = pseudo.size(1);
  TORCH_CHECK(D >= 1 && D <= kMaxDims, "pseudo must have 1 to ", kMaxDims, " dimensions (columns), got ", D);
  TORCH_CHECK(kernel_size.dim() == 1 && kernel_size.size(0) == D, "kernel_size must have shape (", D,
              ",) (one size per pseudo dimension), got ", kernel_size.sizes());
  MG_CHECK_DTYPE(kernel_size, at::kLong);
  TORCH_CHECK(is_open_spline.dim() == 1 && is_open_spline.size(0) == D, "is_open_spline must have shape (", D,
              ",), got ", is_open_spline.sizes());
  TORCH_CHECK(is_open_spline.scalar_type() == at::kByte || is_open_spline.scalar_type() == at::kBool,
              "is_open_spline must be uint8 or bool, got ", is_open_spline.scalar_type());
  MG_CHECK_SAME_DEVICE(pseudo, kernel_size);
  MG_CHECK_SAME_DEVICE(pseudo, is_open_spline);
}

}  // namespace spline
}  // namespace mg

// Instantiates the body for degree 1, 2, 3 with `constexpr int DEG`.
#define MG_DISPATCH_SPLINE_DEGREE(degree, ...)               \
  [&] {                                                     \
    switch (degree) {                                       \
      case 1: { constexpr int DEG = 1; return __VA_ARGS__(); } \
      case 2: { constexpr int DEG = 2; return __VA_ARGS__(); } \
      case 3: { constexpr int DEG = 3; return __VA_ARGS__(); } \
      default: TORCH_CHECK(false, "degree must be 1, 2 or 3, got ", degree); \
    }                                                       \
  }()
