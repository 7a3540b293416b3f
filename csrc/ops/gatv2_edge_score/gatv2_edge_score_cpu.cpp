// CPU kernels for gatv2_edge_score (contract in gatv2_edge_score.h). The forward runs edges in parallel; the
// backward runs a destination pass (grad_x_r, grad_x_e, grad_att partials per fixed group of rows) and a source
// pass (grad_x_l), each output row written by one task: no atomics, no per-thread copies of the V x H x C grads.
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <torch/library.h>

#include <algorithm>
#include <vector>

#include "../../common/checks.h"
#include "../../common/cpu_kernels.h"
#include "../../common/dispatch.h"
#include "../gather_scatter/gather_scatter.h"
#include "gatv2_edge_score.h"

namespace mg {
namespace {

using gatv2::leaky;
using gatv2::leaky_grad;

// sum over c < C of w[c] * leaky_relu(a[c] + b[c] (+ e[c])): eight independent partial sums (fixed order, so the
// result does not depend on the instruction set the loop is compiled for), which the compiler vectorizes.
template <bool kEdge, typename scalar_t, typename acc_t>
inline __attribute__((always_inline)) acc_t score_head(const scalar_t* __restrict__ a, const scalar_t* __restrict__ b,
                                                       const scalar_t* __restrict__ e, const acc_t* __restrict__ w,
                                                       int64_t C, acc_t slope) {
  constexpr int64_t L = 8;
  acc_t lane[L] = {};
  int64_t c = 0;
  for (; c + L <= C; c += L) {
    for (int64_t l = 0; l < L; ++l) {
      acc_t z = static_cast<acc_t>(a[c + l]) + static_cast<acc_t>(b[c + l]);
      if constexpr (kEdge) z = z + static_cast<acc_t>(e[c + l]);
      lane[l] += w[c + l] * leaky(z, slope);
    }
  }
  acc_t s = 0;
  for (int64_t l = 0; l < L; ++l) s += lane[l];
  for (; c < C; ++c) {
    acc_t z = static_cast<acc_t>(a[c]) + static_cast<acc_t>(b[c]);
    if constexpr (kEdge) z = z + static_cast<acc_t>(e[c]);
    s += w[c] * leaky(z, slope);
  }
  return s;
}

// One edge's contribution at its destination, head h's C features: acc += d, ger = d (when non-null), ap +=
// grad * leaky_relu(z) (when non-null), d = grad * att * leaky_relu'(z). Restrict-qualified so the loop vectorizes.
template <bool kEdge, typename scalar_t, typename acc_t>
inline __attribute__((always_inline)) void dst_entry(const scalar_t* __restrict__ a, const scalar_t* __restrict__ b,
                                                     const scalar_t* __restrict__ x, const acc_t* __restrict__ w,
                                                     acc_t gh, acc_t slope, int64_t C, acc_t* __restrict__ acc,
                                                     scalar_t* __restrict__ ger, acc_t* __restrict__ ap) {
  if (ger == nullptr && ap == nullptr) {
    for (int64_t c = 0; c < C; ++c) {
      acc_t z = static_cast<acc_t>(a[c]) + static_cast<acc_t>(b[c]);
      if constexpr (kEdge) z = z + static_cast<acc_t>(x[c]);
      acc[c] += gh * w[c] * leaky_grad(z, slope);
    }
    return;
  }
  for (int64_t c = 0; c < C; ++c) {
    acc_t z = static_cast<acc_t>(a[c]) + static_cast<acc_t>(b[c]);
    if constexpr (kEdge) z = z + static_cast<acc_t>(x[c]);
    const acc_t d = gh * w[c] * leaky_grad(z, slope);
    acc[c] += d;
    if (ger) ger[c] = static_cast<scalar_t>(d);
    if (ap) ap[c] += gh * leaky(z, slope);
  }
}

// One edge's contribution at its source: acc += grad * att * leaky_relu'(z).
template <bool kEdge, typename scalar_t, typename acc_t>
inline __attribute__((always_inline)) void src_entry(const scalar_t* __restrict__ a, const scalar_t* __restrict__ b,
                                                     const scalar_t* __restrict__ x, const acc_t* __restrict__ w,
                                                     acc_t gh, acc_t slope, int64_t C, acc_t* __restrict__ acc) {
  for (int64_t c = 0; c < C; ++c) {
    acc_t z = static_cast<acc_t>(a[c]) + static_cast<acc_t>(b[c]);
    if constexpr (kEdge) z = z + static_cast<acc_t>(x[c]);
    acc[c] += gh * w[c] * leaky_grad(z, slope);
  }
}

struct Sizes {
  int64_t V_src, V_dst, E, H, C;
  int64_t HC() const { return H * C; }
};

template <bool kEdge, typename scalar_t>
void forward_kernel(const scalar_t* xl, const scalar_t* xr, const scalar_t* xe, const acc_t<scalar_t>* att,
                    const int64_t* src, const int64_t* dst, Sizes n, acc_t<scalar_t> slope, scalar_t* out) {
  const int64_t HC = n.HC();
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(HC, 1));
  at::parallel_for(0, n.E, grain, [&](int64_t e0, int64_t e1) {
    cpu::dispatch_isa([&] {
      for (int64_t e = e0; e < e1; ++e) {
        const int64_t u = src[e], v = dst[e];
        for (int64_t h = 0; h < n.H; ++h) {
          const int64_t off = h * n.C;
          out[e * n.H + h] = static_cast<scalar_t>(score_head<kEdge>(
              xl + u * HC + off, xr + v * HC + off, kEdge ? xe + e * HC + off : nullptr, att + off, n.C, slope));
        }
      }
    });
  });
}

// Destination pass: grad_x_r rows (gxr), grad_x_e rows (ge) and the grad_att partial sums of each group of G
// destination rows (part, groups x H*C); any of the three may be null.
template <bool kEdge, typename scalar_t>
void dst_pass(const scalar_t* g, const scalar_t* xl, const scalar_t* xr, const scalar_t* xe,
              const acc_t<scalar_t>* att, const int64_t* src, const int64_t* ptr, const int64_t* perm, Sizes n,
              acc_t<scalar_t> slope, int64_t G, scalar_t* gxr, scalar_t* ge, acc_t<scalar_t>* part) {
  using acc_t = mg::acc_t<scalar_t>;
  const int64_t HC = n.HC(), groups = (n.V_dst + G - 1) / G;
  at::parallel_for(0, groups, 1, [&](int64_t g0, int64_t g1) {
    std::vector<acc_t> acc_buf(HC);
    acc_t* acc = acc_buf.data();
    cpu::dispatch_isa([&] {
      for (int64_t grp = g0; grp < g1; ++grp) {
        acc_t* ap = part ? part + grp * HC : nullptr;
        for (int64_t v = grp * G; v < std::min(n.V_dst, (grp + 1) * G); ++v) {
          std::fill(acc, acc + HC, acc_t(0));
          int64_t begin, end;
          row_bounds(ptr, v, n.E, &begin, &end);
          const scalar_t* b = xr + v * HC;
          for (int64_t k = begin; k < end; ++k) {
            const int64_t e = perm[k];
            if (e < 0 || e >= n.E) continue;
            const scalar_t* a = xl + src[e] * HC;
            const scalar_t* x = kEdge ? xe + e * HC : nullptr;
            scalar_t* ger = ge ? ge + e * HC : nullptr;
            for (int64_t h = 0; h < n.H; ++h) {
              const int64_t o = h * n.C;
              dst_entry<kEdge>(a + o, b + o, kEdge ? x + o : nullptr, att + o, static_cast<acc_t>(g[e * n.H + h]),
                               slope, n.C, acc + o, ger ? ger + o : nullptr, ap ? ap + o : nullptr);
            }
          }
          if (gxr) {
            scalar_t* o = gxr + v * HC;
            for (int64_t i = 0; i < HC; ++i) o[i] = static_cast<scalar_t>(acc[i]);
          }
        }
      }
    });
  });
}

// Source pass: grad_x_l rows.
template <bool kEdge, typename scalar_t>
void src_pass(const scalar_t* g, const scalar_t* xl, const scalar_t* xr, const scalar_t* xe,
              const acc_t<scalar_t>* att, const int64_t* dst, const int64_t* ptr, const int64_t* perm, Sizes n,
              acc_t<scalar_t> slope, scalar_t* gxl) {
  using acc_t = mg::acc_t<scalar_t>;
  const int64_t HC = n.HC();
  const int64_t grain = std::max<int64_t>(1, 8192 / std::max<int64_t>(HC * (n.E / std::max<int64_t>(n.V_src, 1) + 1), 1));
  at::parallel_for(0, n.V_src, grain, [&](int64_t u0, int64_t u1) {
    std::vector<acc_t> acc_buf(HC);
    acc_t* acc = acc_buf.data();
    cpu::dispatch_isa([&] {
      for (int64_t u = u0; u < u1; ++u) {
        std::fill(acc, acc + HC, acc_t(0));
        int64_t begin, end;
        row_bounds(ptr, u, n.E, &begin, &end);
        const scalar_t* a = xl + u * HC;
        for (int64_t k = begin; k < end; ++k) {
          const int64_t e = perm[k];
          if (e < 0 || e >= n.E) continue;
          const scalar_t* b = xr + dst[e] * HC;
          const scalar_t* x = kEdge ? xe + e * HC : nullptr;
          for (int64_t h = 0; h < n.H; ++h) {
            const int64_t o = h * n.C;
            src_entry<kEdge>(a + o, b + o, kEdge ? x + o : nullptr, att + o, static_cast<acc_t>(g[e * n.H + h]),
                             slope, n.C, acc + o);
          }
        }
        scalar_t* o = gxl + u * HC;
        for (int64_t i = 0; i < HC; ++i) o[i] = static_cast<scalar_t>(acc[i]);
      }
    });
  });
}

at::Tensor gatv2_edge_score_cpu(const at::Tensor& x_l, const at::Tensor& x_r, const std::optional<at::Tensor>& x_e,
                                const at::Tensor& att, const at::Tensor& src, const at::Tensor& dst,
                                double negative_slope, const std::optional<at::Tensor>& dst_ptr,
                                const std::optional<at::Tensor>& dst_perm, const std::optional<at::Tensor>& src_ptr,
                                const std::optional<at::Tensor>& src_perm) {
  gatv2::check_inputs(x_l, x_r, x_e, att, src, dst, dst_ptr, dst_perm, src_ptr, src_perm);
  const Sizes n{x_l.size(0), x_r.size(0), src.size(0), x_l.size(1), x_l.size(2)};
  auto out = at::zeros({n.E, n.H}, x_l.options());
  if (n.E == 0 || n.H == 0) return out;
  const auto xl = x_l.contiguous(), xr = x_r.contiguous(), s = src.contiguous(), d = dst.contiguous();
  const bool has_e = gatv2::given(x_e);
  const auto xe = has_e ? x_e->contiguous() : at::Tensor();
  MG_DISPATCH_FLOATING_TYPES(xl.scalar_type(), "gatv2_edge_score_cpu", [&] {
    using acc = mg::acc_t<scalar_t>;
    const auto w = att.to(c10::CppTypeToScalarType<acc>::value).contiguous();
    const auto run = [&](auto edge) {
      forward_kernel<decltype(edge)::value, scalar_t>(
          xl.const_data_ptr<scalar_t>(), xr.const_data_ptr<scalar_t>(), has_e ? xe.const_data_ptr<scalar_t>() : nullptr,
          w.const_data_ptr<acc>(), s.const_data_ptr<int64_t>(), d.const_data_ptr<int64_t>(), n,
          static_cast<acc>(negative_slope), out.mutable_data_ptr<scalar_t>());
    };
    has_e ? run(std::true_type{}) : run(std::false_type{});
  });
  return out;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> gatv2_edge_score_backward_cpu(
    const at::Tensor& grad, const at::Tensor& x_l, const at::Tensor& x_r, const std::optional<at::Tensor>& x_e,
    const at::Tensor& att, const at::Tensor& src, const at::Tensor& dst, double negative_slope,
    const std::optional<at::Tensor>& dst_ptr, const std::optional<at::Tensor>& dst_perm,
    const std::optional<at::Tensor>& src_ptr, const std::optional<at::Tensor>& src_perm,
    std::array<bool, 4> output_mask) {
  gatv2::Csr csr = gatv2::check_inputs(x_l, x_r, x_e, att, src, dst, dst_ptr, dst_perm, src_ptr, src_perm);
  gatv2::check_grad(grad, x_l, src);
  const Sizes n{x_l.size(0), x_r.size(0), src.size(0), x_l.size(1), x_l.size(2)};
  const bool has_e = gatv2::given(x_e);
  const auto opts = x_l.options();
  const auto none = [&] { return at::empty({0}, opts); };
  at::Tensor gxl = output_mask[0] ? at::empty({n.V_src, n.H, n.C}, opts) : none();
  at::Tensor gxr = output_mask[1] ? at::empty({n.V_dst, n.H, n.C}, opts) : none();
  at::Tensor ge = output_mask[2] && has_e ? at::zeros({n.E, n.H, n.C}, opts) : none();
  at::Tensor gatt = output_mask[3] ? at::zeros({n.H, n.C}, opts) : none();
  if (n.H * n.C == 0) return {gxl.zero_(), gxr.zero_(), ge, gatt};
  if (!csr.defined()) csr = gatv2::build_csr(src.contiguous(), dst.contiguous(), n.V_src, n.V_dst);
  const auto g = grad.contiguous(), xl = x_l.contiguous(), xr = x_r.contiguous();
  const auto s = src.contiguous(), d = dst.contiguous();
  const auto xe = has_e ? x_e->contiguous() : at::Tensor();
  MG_DISPATCH_FLOATING_TYPES(xl.scalar_type(), "gatv2_edge_score_backward_cpu", [&] {
    using acc = mg::acc_t<scalar_t>;
    const auto acc_type = c10::CppTypeToScalarType<acc>::value;
    const auto w = att.to(acc_type).contiguous();
    const int64_t G = gatv2::att_group_rows(n.V_dst, n.H * n.C);
    at::Tensor part;
    if (output_mask[3]) part = at::zeros({(n.V_dst + G - 1) / G, n.H * n.C}, opts.dtype(acc_type));
    const auto run = [&](auto edge) {
      constexpr bool kEdge = decltype(edge)::value;
      const scalar_t* xep = kEdge ? xe.const_data_ptr<scalar_t>() : nullptr;
      if (output_mask[1] || ge.numel() || output_mask[3]) {
        dst_pass<kEdge, scalar_t>(g.const_data_ptr<scalar_t>(), xl.const_data_ptr<scalar_t>(),
                                  xr.const_data_ptr<scalar_t>(), xep, w.const_data_ptr<acc>(),
                                  s.const_data_ptr<int64_t>(), csr.dst_ptr.const_data_ptr<int64_t>(),
                                  csr.dst_perm.const_data_ptr<int64_t>(), n, static_cast<acc>(negative_slope), G,
                                  output_mask[1] ? gxr.mutable_data_ptr<scalar_t>() : nullptr,
                                  ge.numel() ? ge.mutable_data_ptr<scalar_t>() : nullptr,
                                  part.defined() ? part.mutable_data_ptr<acc>() : nullptr);
      }
      if (output_mask[0]) {
        src_pass<kEdge, scalar_t>(g.const_data_ptr<scalar_t>(), xl.const_data_ptr<scalar_t>(),
                                  xr.const_data_ptr<scalar_t>(), xep, w.const_data_ptr<acc>(),
                                  d.const_data_ptr<int64_t>(), csr.src_ptr.const_data_ptr<int64_t>(),
                                  csr.src_perm.const_data_ptr<int64_t>(), n, static_cast<acc>(negative_slope),
                                  gxl.mutable_data_ptr<scalar_t>());
      }
    };
    has_e ? run(std::true_type{}) : run(std::false_type{});
    if (part.defined()) {  // the groups' partial sums, added in group order
      const acc* pp = part.const_data_ptr<acc>();
      scalar_t* o = gatt.mutable_data_ptr<scalar_t>();
      const int64_t HC = n.H * n.C, groups = part.size(0);
      at::parallel_for(0, HC, 1024, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
          acc t = 0;
          for (int64_t r = 0; r < groups; ++r) t += pp[r * HC + i];
          o[i] = static_cast<scalar_t>(t);
        }
      });
    }
  });
  return {gxl, gxr, ge, gatt};
}

}  // namespace
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CPU, m) {
  m.impl("gatv2_edge_score", &mg::gatv2_edge_score_cpu);
  m.impl("gatv2_edge_score_backward", &mg::gatv2_edge_score_backward_cpu);
}
