// gatv2_edge_score: GATv2's per-edge attention logits, fused (no E x H x C temporary in forward or backward).
//
//   gatv2_edge_score(x_l: (V_src, H, C), x_r: (V_dst, H, C), x_e: (E, H, C)?, att: (H, C), src: (E,) int64,
//                    dst: (E,) int64, negative_slope, dst_ptr?, dst_perm?, src_ptr?, src_perm?) -> score (E, H)
//     z[e, h, c] = x_l[src[e], h, c] + x_r[dst[e], h, c] (+ x_e[e, h, c])
//     score[e, h] = sum over c of att[h, c] * leaky_relu(z[e, h, c], negative_slope)
//     The optional CSRs group the edges by destination (dst_ptr (V_dst + 1,), dst_perm (E,): entry k of row v is
//     edge dst_perm[k]) and by source (src_ptr (V_src + 1,), src_perm (E,)); all four or none. The forward does
//     not read them: autograd hands them to the backward (layers pass the ones cached on the graph).
//
//   gatv2_edge_score_backward(grad: (E, H), <the forward's inputs>, output_mask: bool[4])
//       -> (grad_x_l (V_src, H, C), grad_x_r (V_dst, H, C), grad_x_e (E, H, C), grad_att (H, C))
//     d[e, h, c] = grad[e, h] * att[h, c] * leaky_relu'(z[e, h, c]); grad_x_l[u] = sum over edges out of u of d,
//     grad_x_r[v] = sum over edges into v of d, grad_x_e = d, grad_att[h, c] = sum over e of
//     grad[e, h] * leaky_relu(z[e, h, c]). An output whose mask entry is false (or grad_x_e without x_e) is (0,).
//     z is recomputed per pass, never stored.
//
// Reductions. CPU: the destination pass runs rows in parallel (each grad_x_r row and each grad_x_e row written
// by one task), the source pass likewise over sources, both over ranges of rows of about equal work (a function of
// the row pointers only), and grad_att is summed per range of destination rows and then over the ranges in order:
// deterministic whatever the thread count. float32 runs AVX2 loops where the CPU has them, bit-identical to the
// portable loops (the same operations in the same order). Without CSRs the CPU builds them (a stable sort). CUDA with CSRs: the same two passes, one
// thread per (group of rows, feature), no atomics. CUDA without CSRs: float atomicAdd into grad_x_l / grad_x_r
// (alert_atomic_reduction), or, when deterministic algorithms are on, CSRs built by a stable sort and the
// atomic-free passes. Accumulation in float32 (float64 for float64).
//
// Checks: every tensor's device, dtype and shape on every backend; on CPU also src / dst within [0, V_src) /
// [0, V_dst) and the CSR row pointers (checks.h). CUDA skips edges whose indices are out of range (their score
// is 0) and clamps row bounds; CSR entries naming edges outside [0, E) are skipped on both.
#pragma once

#include <ATen/core/Tensor.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/searchsorted.h>
#include <ATen/ops/sort.h>

#include <array>
#include <optional>
#include <tuple>
#include <utility>

#include "../../common/checks.h"

namespace mg {
namespace gatv2 {

template <typename acc_t>
C10_HOST_DEVICE inline acc_t leaky(acc_t z, acc_t slope) {
  return z > acc_t(0) ? z : z * slope;
}

// leaky_relu'(z): 1 for z > 0, else the slope (PyTorch's convention at 0).
template <typename acc_t>
C10_HOST_DEVICE inline acc_t leaky_grad(acc_t z, acc_t slope) {
  return z > acc_t(0) ? acc_t(1) : slope;
}

// Rows per group of the grad_att partial sums: 32, doubled until the (groups x H*C) buffer has at most 4M
// entries. A function of the sizes only, so the summation order never depends on the thread count.
inline int64_t att_group_rows(int64_t rows, int64_t width) {
  int64_t g = 32;
  while (((rows + g - 1) / g) * width > (int64_t{1} << 22)) g *= 2;
  return g;
}

// The optional CSRs: all four or none.
struct Csr {
  at::Tensor dst_ptr, dst_perm, src_ptr, src_perm;
  bool defined() const { return dst_ptr.defined(); }
};

inline bool given(const std::optional<at::Tensor>& t) { return t.has_value() && t->defined(); }

inline void check_perm(const at::Tensor& perm, int64_t E, const at::Tensor& ref, const char* name) {
  TORCH_CHECK(perm.dim() == 1 && perm.size(0) == E, name, " must have shape (", E, ",), got ", perm.sizes());
  TORCH_CHECK(perm.scalar_type() == at::kLong, name, " must be int64, got ", perm.scalar_type());
  TORCH_CHECK(perm.device() == ref.device(), name, " must be on the device of x_l (", ref.device(), "), got ",
              perm.device());
}

// On CPU: every index within [0, upper) (one pass over E values next to the kernel's E * H * C work).
inline void check_index_values(const at::Tensor& idx, int64_t upper, const char* name) {
  if (!idx.device().is_cpu() || idx.numel() == 0) return;
  const at::Tensor c = idx.contiguous();
  const int64_t* p = c.const_data_ptr<int64_t>();
  bool ok = true;
  for (int64_t i = 0, n = c.numel(); i < n; ++i) ok &= p[i] >= 0 && p[i] < upper;
  TORCH_CHECK(ok, name, " must hold indices in [0, ", upper, ")");
}

// Checks shared by the forward and backward on every backend; returns the CSRs (undefined when absent).
inline Csr check_inputs(const at::Tensor& x_l, const at::Tensor& x_r, const std::optional<at::Tensor>& x_e,
                        const at::Tensor& att, const at::Tensor& src, const at::Tensor& dst,
                        const std::optional<at::Tensor>& dst_ptr, const std::optional<at::Tensor>& dst_perm,
                        const std::optional<at::Tensor>& src_ptr, const std::optional<at::Tensor>& src_perm) {
  MG_CHECK_DIM(x_l, 3);
  MG_CHECK_DIM(x_r, 3);
  MG_CHECK_FLOATING(x_l);
  MG_CHECK_SAME_DTYPE(x_l, x_r);
  MG_CHECK_SAME_DEVICE(x_l, x_r);
  const int64_t H = x_l.size(1), C = x_l.size(2);
  TORCH_CHECK(x_r.size(1) == H && x_r.size(2) == C, "x_r must have the heads and channels of x_l (", H, ", ", C,
              "), got ", x_r.sizes());
  MG_CHECK_SHAPE(att, {H, C});
  MG_CHECK_SAME_DTYPE(x_l, att);
  MG_CHECK_SAME_DEVICE(x_l, att);
  for (const auto& [t, name] : {std::pair<const at::Tensor*, const char*>{&src, "src"}, {&dst, "dst"}}) {
    TORCH_CHECK(t->dim() == 1, name, " must be 1-D, got ", t->dim(), "-D");
    TORCH_CHECK(t->scalar_type() == at::kLong, name, " must be int64, got ", t->scalar_type());
    TORCH_CHECK(t->device() == x_l.device(), name, " must be on the device of x_l (", x_l.device(), "), got ",
                t->device());
  }
  const int64_t E = src.size(0);
  TORCH_CHECK(dst.size(0) == E, "src and dst must have the same length, got ", E, " and ", dst.size(0));
  if (given(x_e)) {
    MG_CHECK_SHAPE((*x_e), {E, H, C});
    MG_CHECK_SAME_DTYPE(x_l, (*x_e));
    MG_CHECK_SAME_DEVICE(x_l, (*x_e));
  }
  check_index_values(src, x_l.size(0), "src");
  check_index_values(dst, x_r.size(0), "dst");
  const int n_given = given(dst_ptr) + given(dst_perm) + given(src_ptr) + given(src_perm);
  TORCH_CHECK(n_given == 0 || n_given == 4, "dst_ptr, dst_perm, src_ptr and src_perm must be given together");
  if (n_given == 0) return {};
  check_rowptr(*dst_ptr, E, x_l, "dst_ptr");
  check_rowptr(*src_ptr, E, x_l, "src_ptr");
  TORCH_CHECK(dst_ptr->size(0) == x_r.size(0) + 1, "dst_ptr must have V_dst + 1 = ", x_r.size(0) + 1,
              " entries, got ", dst_ptr->size(0));
  TORCH_CHECK(src_ptr->size(0) == x_l.size(0) + 1, "src_ptr must have V_src + 1 = ", x_l.size(0) + 1,
              " entries, got ", src_ptr->size(0));
  check_perm(*dst_perm, E, x_l, "dst_perm");
  check_perm(*src_perm, E, x_l, "src_perm");
  return {dst_ptr->contiguous(), dst_perm->contiguous(), src_ptr->contiguous(), src_perm->contiguous()};
}

inline void check_grad(const at::Tensor& grad, const at::Tensor& x_l, const at::Tensor& src) {
  MG_CHECK_SHAPE(grad, {src.size(0), x_l.size(1)});
  MG_CHECK_SAME_DTYPE(grad, x_l);
  MG_CHECK_SAME_DEVICE(grad, x_l);
}

// Rows pointer and permutation grouping the E entries of `index` by value in [0, rows): a stable sort, so
// entries keep their edge order within a row (ATen ops: the same on every device, no device sync). Values
// outside [0, rows) fall outside every row.
inline std::pair<at::Tensor, at::Tensor> csr_of(const at::Tensor& index, int64_t rows) {
  auto [sorted, perm] = at::sort(index, /*stable=*/true, /*dim=*/0, /*descending=*/false);
  auto ptr = at::searchsorted(sorted, at::arange(rows + 1, index.options()));
  return {ptr, perm};
}

inline Csr build_csr(const at::Tensor& src, const at::Tensor& dst, int64_t V_src, int64_t V_dst) {
  auto [dp, dq] = csr_of(dst, V_dst);
  auto [sp, sq] = csr_of(src, V_src);
  return {dp, dq, sp, sq};
}

}  // namespace gatv2
}  // namespace mg
