// symeig3x3: eigen-decomposition of batched symmetric 3x3 matrices (PyTorch3D's
// pytorch3d.common.workaround.symeig3x3 / torch.linalg.eigh semantics), fused into one pass per matrix.
//
//   symeig3x3(input: (..., 3, 3)) -> eigenvalues (..., 3) ascending, eigenvectors (..., 3, 3) (column j is the
//     unit eigenvector of eigenvalue j). The kernels read the symmetric part S = (A + A^T) / 2 of each matrix,
//     so a non-symmetric input is decomposed as S (and its gradient is symmetric).
//     Method: cyclic Jacobi sweeps on S / max|S_ij| (no overflow or underflow from the scale), rotations computed
//     in the stable form (tan of the smaller angle), an off-diagonal entry dropped once it is negligible
//     (|s_pq| <= eps sqrt(|s_pp s_qq|), or <= eps^2 of the scale); at most kMaxSweeps sweeps (quadratic
//     convergence: 3 to 6 in practice). Normwise backward stable like LAPACK's syevd: eigenvalues within a few eps
//     ||A|| of the exact ones, eigenvectors orthonormal to a few eps whatever the multiplicities (an exactly or
//     nearly repeated eigenvalue gives an orthonormal basis of its eigenspace). Diagonal matrices take no
//     rotation (their eigenvectors are the axes); the zero matrix gives zeros and the identity.
//     Sign rule (the same in the reference): columns 0 and 1 have their largest-magnitude component (the first
//     of equal ones) positive; column 2 is signed so that det(eigenvectors) = +1 (a rotation).
//     NaN or infinite entries give NaN outputs.
//   symeig3x3_backward(grad_eigenvalues?, grad_eigenvectors?, eigenvalues, eigenvectors) -> grad_input (..., 3, 3):
//     the eigh backward  G = V (diag(gL) + F o skew(V^T gV)) V^T,  F_ij = 1 / (L_j - L_i) (i != j), then
//     symmetrized (G + G^T) / 2 (the forward reads the symmetric part). Gap-safe: a pair with
//     |L_j - L_i| <= kGapFactor eps(dtype) max|L| (repeated eigenvalues, the zero matrix) couples with F_ij = 0,
//     i.e. a rotation inside a repeated eigenspace gets no gradient: exact for losses invariant to the choice of
//     basis there (for other losses the gradient does not exist). Absent grads count as zeros.
//   input float16, bfloat16, float32 or float64; computed in acc_t<scalar_t> (float32 for the half types),
//   outputs in the input's dtype. Any batch size, including 0.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/macros/Macros.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "../../common/checks.h"

namespace mg {
namespace symeig {

constexpr int kMaxSweeps = 16;
constexpr double kGapFactor = 8.0;

template <typename T>
C10_HOST_DEVICE inline T abs_(T x) {
  return x < T(0) ? -x : x;
}

// One Jacobi rotation zeroing a[p][q] (Numerical Recipes' form: t = tan of the smaller rotation angle; the
// diagonal and the third row/column updated with tau = s / (1 + c) for accuracy), accumulated into v's columns.
template <typename T>
C10_HOST_DEVICE inline void rotate(T a[3][3], T v[3][3], int p, int q, int r) {
  const T apq = a[p][q];
  const T theta = (a[q][q] - a[p][p]) / (T(2) * apq);
  const T at = abs_(theta);
  // for |theta| > 1 / eps, sqrt(theta^2 + 1) == |theta| in T: the closed form without squaring (no overflow)
  T t = at > T(1) / std::numeric_limits<T>::epsilon() ? T(0.5) / at : T(1) / (at + sqrt(at * at + T(1)));
  if (theta < T(0)) t = -t;
  const T c = T(1) / sqrt(t * t + T(1));
  const T s = t * c;
  const T tau = s / (T(1) + c);
  a[p][p] = a[p][p] - t * apq;
  a[q][q] = a[q][q] + t * apq;
  a[p][q] = a[q][p] = T(0);
  const T arp = a[r][p], arq = a[r][q];
  a[r][p] = a[p][r] = arp - s * (arq + tau * arp);
  a[r][q] = a[q][r] = arq + s * (arp - tau * arq);
  for (int k = 0; k < 3; ++k) {
    const T vp = v[k][p], vq = v[k][q];
    v[k][p] = vp - s * (vq + tau * vp);
    v[k][q] = vq + s * (vp - tau * vq);
  }
}

template <typename T>
C10_HOST_DEVICE inline void swap_pairs(T* w, T v[3][3], int i, int j) {
  const T tw = w[i];
  w[i] = w[j];
  w[j] = tw;
  for (int k = 0; k < 3; ++k) {
    const T tv = v[k][i];
    v[k][i] = v[k][j];
    v[k][j] = tv;
  }
}

// The decomposition of one matrix. in: the 9 entries, row-major, read as T (m[3 i + j] = A_ij); out: w (3)
// ascending, v (3 x 3, row-major; column j = eigenvector j).
template <typename T>
C10_HOST_DEVICE inline void solve(const T* m, T* w, T v[3][3]) {
  const T eps = std::numeric_limits<T>::epsilon();
  T a[3][3];
  T scale = T(0);
  bool finite = true;
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) {
      a[i][j] = i == j ? m[3 * i + j] : T(0.5) * (m[3 * i + j] + m[3 * j + i]);
      finite = finite && a[i][j] - a[i][j] == T(0);  // false for NaN and +-inf
      const T x = abs_(a[i][j]);
      scale = x > scale ? x : scale;
      v[i][j] = i == j ? T(1) : T(0);
    }
  }
  if (!finite) {
    const T nan = std::numeric_limits<T>::quiet_NaN();
    for (int i = 0; i < 3; ++i) {
      w[i] = nan;
      for (int j = 0; j < 3; ++j) v[i][j] = nan;
    }
    return;
  }
  if (scale == T(0)) {
    w[0] = w[1] = w[2] = T(0);
    return;
  }
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) a[i][j] = a[i][j] / scale;
  const T tiny = eps * eps;  // entries below eps^2 of the (unit) scale move no eigenvalue by more than that
  for (int sweep = 0; sweep < kMaxSweeps; ++sweep) {
    if (a[0][1] == T(0) && a[0][2] == T(0) && a[1][2] == T(0)) break;
    for (int pair = 0; pair < 3; ++pair) {
      const int p = pair == 2 ? 1 : 0, q = pair == 0 ? 1 : 2, r = 3 - p - q;
      const T apq = abs_(a[p][q]);
      if (apq == T(0)) continue;
      // apq^2 <= eps^2 |app aqq| (no square roots; apq > eps^2 keeps apq^2 normal, an underflowing product only
      // means one more rotation)
      if (apq <= tiny || apq * apq <= eps * eps * abs_(a[p][p] * a[q][q])) {
        a[p][q] = a[q][p] = T(0);  // negligible: dropping it moves the eigenvalues by O(eps) of their size
        continue;
      }
      rotate(a, v, p, q, r);
    }
  }
  for (int i = 0; i < 3; ++i) w[i] = a[i][i] * scale;
  // ascending (a three-element sorting network, columns follow)
  if (w[1] < w[0]) swap_pairs(w, v, 0, 1);
  if (w[2] < w[1]) swap_pairs(w, v, 1, 2);
  if (w[1] < w[0]) swap_pairs(w, v, 0, 1);
  // sign rule: columns 0 and 1 with their largest-magnitude component positive, det(v) = +1
  for (int j = 0; j < 2; ++j) {
    int big = 0;
    for (int k = 1; k < 3; ++k)
      if (abs_(v[k][j]) > abs_(v[big][j])) big = k;
    if (v[big][j] < T(0))
      for (int k = 0; k < 3; ++k) v[k][j] = -v[k][j];
  }
  const T det = v[0][2] * (v[1][0] * v[2][1] - v[2][0] * v[1][1]) + v[1][2] * (v[2][0] * v[0][1] - v[0][0] * v[2][1]) +
                v[2][2] * (v[0][0] * v[1][1] - v[1][0] * v[0][1]);
  if (det < T(0))
    for (int k = 0; k < 3; ++k) v[k][2] = -v[k][2];
}

// The backward of one matrix (see the contract above). gw (3) and gv (9, row-major) may be null (zero grads);
// w (3), v (9, row-major) are the forward's outputs; ga (9, row-major) receives the symmetric gradient.
// gap_eps: kGapFactor * eps of the outputs' dtype.
template <typename T>
C10_HOST_DEVICE inline void backward(const T* gw, const T* gv, const T* w, const T* v, T gap_eps, T* ga) {
  T mm[3][3];
  const T lmax = abs_(w[0]) > abs_(w[2]) ? abs_(w[0]) : abs_(w[2]);
  const T tol = gap_eps * lmax;
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) mm[i][j] = T(0);
    mm[i][i] = gw != nullptr ? gw[i] : T(0);
  }
  if (gv != nullptr) {
    T k[3][3];  // V^T gV
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) k[i][j] = v[i] * gv[j] + v[3 + i] * gv[3 + j] + v[6 + i] * gv[6 + j];
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 3; ++j) {
        if (i == j) continue;
        const T gap = w[j] - w[i];
        mm[i][j] = abs_(gap) <= tol ? T(0) : T(0.5) * (k[i][j] - k[j][i]) / gap;
      }
    }
  }
  T tmp[3][3];  // V M
  for (int a = 0; a < 3; ++a)
    for (int j = 0; j < 3; ++j) tmp[a][j] = v[3 * a] * mm[0][j] + v[3 * a + 1] * mm[1][j] + v[3 * a + 2] * mm[2][j];
  T g[3][3];  // V M V^T
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 3; ++b) g[a][b] = tmp[a][0] * v[3 * b] + tmp[a][1] * v[3 * b + 1] + tmp[a][2] * v[3 * b + 2];
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 3; ++b) ga[3 * a + b] = T(0.5) * (g[a][b] + g[b][a]);
}

// Matrix b of a contiguous batch, as both backends run it: read in scalar_t, solved in acc_t, written in scalar_t.
// a: (B, 9), w: (B, 3), v: (B, 9).
template <typename scalar_t, typename acc_t>
C10_HOST_DEVICE inline void solve_matrix(const scalar_t* a, scalar_t* w, scalar_t* v, int64_t b) {
  acc_t m[9], ww[3], vv[3][3];
  for (int i = 0; i < 9; ++i) m[i] = static_cast<acc_t>(a[9 * b + i]);
  solve<acc_t>(m, ww, vv);
  for (int i = 0; i < 3; ++i) {
    w[3 * b + i] = static_cast<scalar_t>(ww[i]);
    for (int j = 0; j < 3; ++j) v[9 * b + 3 * i + j] = static_cast<scalar_t>(vv[i][j]);
  }
}

// The backward of matrix b (gw (B, 3) and gv (B, 9) may be null), read and written in scalar_t, in acc_t inside.
template <typename scalar_t, typename acc_t>
C10_HOST_DEVICE inline void backward_matrix(const scalar_t* gw, const scalar_t* gv, const scalar_t* w,
                                            const scalar_t* v, acc_t gap_eps, scalar_t* ga, int64_t b) {
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

// The gap threshold factor of the backward for scalar_t: kGapFactor * eps of the outputs' dtype.
template <typename scalar_t, typename acc_t>
inline acc_t gap_eps() {
  return static_cast<acc_t>(kGapFactor * static_cast<double>(std::numeric_limits<scalar_t>::epsilon()));
}

// The backward's operands as the kernels read them: contiguous (B, 3) / (B, 9) in the eigenvectors' dtype; the
// grads undefined when absent.
struct BackwardOperands {
  int64_t B;
  at::Tensor w, v, gw, gv;
};

inline BackwardOperands backward_operands(const c10::optional<at::Tensor>& grad_w,
                                          const c10::optional<at::Tensor>& grad_v, const at::Tensor& w,
                                          const at::Tensor& v) {
  const int64_t B = v.numel() / 9;
  const auto dt = v.scalar_type();
  const bool has_gw = grad_w.has_value() && grad_w->defined(), has_gv = grad_v.has_value() && grad_v->defined();
  return {B, w.reshape({B, 3}).contiguous(), v.reshape({B, 9}).contiguous(),
          has_gw ? grad_w->to(dt).reshape({B, 3}).contiguous() : at::Tensor(),
          has_gv ? grad_v->to(dt).reshape({B, 9}).contiguous() : at::Tensor()};
}

// Output shapes of the forward: (batch..., 3) and (batch..., 3, 3) for input (batch..., 3, 3).
inline std::vector<int64_t> output_shape(const at::Tensor& input, int trailing_threes) {
  std::vector<int64_t> shape(input.sizes().begin(), input.sizes().end() - 2);
  for (int i = 0; i < trailing_threes; ++i) shape.push_back(3);
  return shape;
}

// input (..., 3, 3) floating, on any device.
inline void check_input(const at::Tensor& input) {
  MG_CHECK_FLOATING(input);
  TORCH_CHECK(input.dim() >= 2 && input.size(-1) == 3 && input.size(-2) == 3,
              "input must have shape (..., 3, 3), got ", input.sizes());
}

// The backward's tensors: eigenvalues (..., 3) and eigenvectors (..., 3, 3) of one dtype and device; each grad,
// when given, of its output's shape, on that device.
inline void check_backward(const c10::optional<at::Tensor>& grad_w, const c10::optional<at::Tensor>& grad_v,
                           const at::Tensor& w, const at::Tensor& v) {
  MG_CHECK_FLOATING(v);
  MG_CHECK_SAME_DTYPE(w, v);
  MG_CHECK_SAME_DEVICE(w, v);
  TORCH_CHECK(v.dim() >= 2 && v.size(-1) == 3 && v.size(-2) == 3, "eigenvectors must have shape (..., 3, 3), got ",
              v.sizes());
  TORCH_CHECK(w.dim() == v.dim() - 1 && w.size(-1) == 3 && w.sizes().slice(0, w.dim() - 1) == v.sizes().slice(0, v.dim() - 2),
              "eigenvalues must have shape (..., 3) with the batch shape of eigenvectors, got ", w.sizes(), " and ",
              v.sizes());
  if (grad_w.has_value() && grad_w->defined()) {
    TORCH_CHECK(grad_w->sizes() == w.sizes(), "grad_eigenvalues must have the shape of eigenvalues ", w.sizes(),
                ", got ", grad_w->sizes());
    MG_CHECK_FLOATING((*grad_w));
    MG_CHECK_SAME_DEVICE(w, (*grad_w));
  }
  if (grad_v.has_value() && grad_v->defined()) {
    TORCH_CHECK(grad_v->sizes() == v.sizes(), "grad_eigenvectors must have the shape of eigenvectors ", v.sizes(),
                ", got ", grad_v->sizes());
    MG_CHECK_FLOATING((*grad_v));
    MG_CHECK_SAME_DEVICE(v, (*grad_v));
  }
}

}  // namespace symeig
}  // namespace mg
