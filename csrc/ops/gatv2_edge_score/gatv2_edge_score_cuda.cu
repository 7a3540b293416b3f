// CUDA kernels for gatv2_edge_score (contract in gatv2_edge_score.h). Forward: one thread per (edge, head).
// Backward with CSRs (given, or built by a stable sort when deterministic algorithms are on): a destination pass
// with one thread per (group of rows, feature) and a source pass with one thread per (source, feature), no
// atomics; without CSRs: one thread per (group of edges, feature) adding into grad_x_l / grad_x_r with float
// atomicAdd. grad_att is summed per fixed group, then over the groups by ATen (deterministic).
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/sum.h>
#include <ATen/ops/zeros.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include <type_traits>

#include "../../common/checks.h"
#include "../../common/cuda_utils.cuh"
#include "../../common/determinism.h"
#include "../../common/dispatch.h"
#include "../gather_scatter/gather_scatter.h"
#include "gatv2_edge_score.h"

namespace mg {
namespace {

using gatv2::leaky;
using gatv2::leaky_grad;

struct Sizes {
  int64_t V_src, V_dst, E, H, C;
};

template <bool kEdge, typename scalar_t, typename acc_t>
__global__ void forward_kernel(const scalar_t* __restrict__ xl, const scalar_t* __restrict__ xr,
                               const scalar_t* __restrict__ xe, const acc_t* __restrict__ att,
                               const int64_t* __restrict__ src, const int64_t* __restrict__ dst, Sizes n, acc_t slope,
                               scalar_t* __restrict__ out) {
  const int64_t HC = n.H * n.C;
  MG_CUDA_KERNEL_LOOP(t, n.E * n.H) {
    const int64_t e = t / n.H, h = t - e * n.H;
    const int64_t u = src[e], v = dst[e];
    if (u < 0 || u >= n.V_src || v < 0 || v >= n.V_dst) {  // clamped: out-of-range edges score 0
      out[t] = scalar_t(0);
      continue;
    }
    const scalar_t* a = xl + u * HC + h * n.C;
    const scalar_t* b = xr + v * HC + h * n.C;
    const acc_t* w = att + h * n.C;
    acc_t s = 0;
    for (int64_t c = 0; c < n.C; ++c) {
      acc_t z = static_cast<acc_t>(a[c]) + static_cast<acc_t>(b[c]);
      if constexpr (kEdge) z = z + static_cast<acc_t>(xe[e * HC + h * n.C + c]);
      s += w[c] * leaky(z, slope);
    }
    out[t] = static_cast<scalar_t>(s);
  }
}

// One thread per (group of G destination rows, feature i): grad_x_r[v, i] for the group's rows, grad_x_e[e, i]
// for their edges and the group's grad_att partial part[group, i]; gxr / ge / part may be null.
template <bool kEdge, typename scalar_t, typename acc_t>
__global__ void dst_pass_kernel(const scalar_t* __restrict__ g, const scalar_t* __restrict__ xl,
                                const scalar_t* __restrict__ xr, const scalar_t* __restrict__ xe,
                                const acc_t* __restrict__ att, const int64_t* __restrict__ src,
                                const int64_t* __restrict__ ptr, const int64_t* __restrict__ perm, Sizes n, acc_t slope,
                                int64_t G, scalar_t* __restrict__ gxr, scalar_t* __restrict__ ge,
                                acc_t* __restrict__ part) {
  const int64_t HC = n.H * n.C, groups = (n.V_dst + G - 1) / G;
  MG_CUDA_KERNEL_LOOP(t, groups * HC) {
    const int64_t grp = t / HC, i = t - grp * HC, h = i / n.C;
    const acc_t w = att[i];
    acc_t ap = 0;
    const int64_t v_end = grp * G + G < n.V_dst ? grp * G + G : n.V_dst;
    for (int64_t v = grp * G; v < v_end; ++v) {
      int64_t begin, end;
      row_bounds(ptr, v, n.E, &begin, &end);
      const acc_t b = static_cast<acc_t>(xr[v * HC + i]);
      acc_t acc = 0;
      for (int64_t k = begin; k < end; ++k) {
        const int64_t e = perm[k];
        if (e < 0 || e >= n.E) continue;
        const int64_t u = src[e];
        if (u < 0 || u >= n.V_src) continue;
        acc_t z = static_cast<acc_t>(xl[u * HC + i]) + b;
        if constexpr (kEdge) z = z + static_cast<acc_t>(xe[e * HC + i]);
        const acc_t gh = static_cast<acc_t>(g[e * n.H + h]);
        const acc_t d = gh * w * leaky_grad(z, slope);
        acc += d;
        if (ge) ge[e * HC + i] = static_cast<scalar_t>(d);
        if (part) ap += gh * leaky(z, slope);
      }
      if (gxr) gxr[v * HC + i] = static_cast<scalar_t>(acc);
    }
    if (part) part[t] = ap;
  }
}

// One thread per (source u, feature i): grad_x_l[u, i].
template <bool kEdge, typename scalar_t, typename acc_t>
__global__ void src_pass_kernel(const scalar_t* __restrict__ g, const scalar_t* __restrict__ xl,
                                const scalar_t* __restrict__ xr, const scalar_t* __restrict__ xe,
                                const acc_t* __restrict__ att, const int64_t* __restrict__ dst,
                                const int64_t* __restrict__ ptr, const int64_t* __restrict__ perm, Sizes n, acc_t slope,
                                scalar_t* __restrict__ gxl) {
  const int64_t HC = n.H * n.C;
  MG_CUDA_KERNEL_LOOP(t, n.V_src * HC) {
    const int64_t u = t / HC, i = t - u * HC, h = i / n.C;
    const acc_t w = att[i];
    const acc_t a = static_cast<acc_t>(xl[t]);
    int64_t begin, end;
    row_bounds(ptr, u, n.E, &begin, &end);
    acc_t acc = 0;
    for (int64_t k = begin; k < end; ++k) {
      const int64_t e = perm[k];
      if (e < 0 || e >= n.E) continue;
      const int64_t v = dst[e];
      if (v < 0 || v >= n.V_dst) continue;
      acc_t z = a + static_cast<acc_t>(xr[v * HC + i]);
      if constexpr (kEdge) z = z + static_cast<acc_t>(xe[e * HC + i]);
      acc += static_cast<acc_t>(g[e * n.H + h]) * w * leaky_grad(z, slope);
    }
    gxl[t] = static_cast<scalar_t>(acc);
  }
}

// Without CSRs: one thread per (group of G edges, feature i), adding into the float32 / float64 accumulators of
// grad_x_l / grad_x_r with atomicAdd (either may be null); grad_x_e written directly, grad_att per group.
template <bool kEdge, typename scalar_t, typename acc_t>
__global__ void atomic_kernel(const scalar_t* __restrict__ g, const scalar_t* __restrict__ xl,
                              const scalar_t* __restrict__ xr, const scalar_t* __restrict__ xe,
                              const acc_t* __restrict__ att, const int64_t* __restrict__ src,
                              const int64_t* __restrict__ dst, Sizes n, acc_t slope, int64_t G, acc_t* gxl, acc_t* gxr,
                              scalar_t* __restrict__ ge, acc_t* __restrict__ part) {
  const int64_t HC = n.H * n.C, groups = (n.E + G - 1) / G;
  MG_CUDA_KERNEL_LOOP(t, groups * HC) {
    const int64_t grp = t / HC, i = t - grp * HC, h = i / n.C;
    const acc_t w = att[i];
    acc_t ap = 0;
    const int64_t e_end = grp * G + G < n.E ? grp * G + G : n.E;
    for (int64_t e = grp * G; e < e_end; ++e) {
      const int64_t u = src[e], v = dst[e];
      if (u < 0 || u >= n.V_src || v < 0 || v >= n.V_dst) continue;
      acc_t z = static_cast<acc_t>(xl[u * HC + i]) + static_cast<acc_t>(xr[v * HC + i]);
      if constexpr (kEdge) z = z + static_cast<acc_t>(xe[e * HC + i]);
      const acc_t gh = static_cast<acc_t>(g[e * n.H + h]);
      const acc_t d = gh * w * leaky_grad(z, slope);
      if (gxl) atomicAdd(gxl + u * HC + i, d);
      if (gxr) atomicAdd(gxr + v * HC + i, d);
      if (ge) ge[e * HC + i] = static_cast<scalar_t>(d);
      if (part) ap += gh * leaky(z, slope);
    }
    if (part) part[t] = ap;
  }
}

at::Tensor gatv2_edge_score_cuda(const at::Tensor& x_l, const at::Tensor& x_r, const std::optional<at::Tensor>& x_e,
                                 const at::Tensor& att, const at::Tensor& src, const at::Tensor& dst,
                                 double negative_slope, const std::optional<at::Tensor>& dst_ptr,
                                 const std::optional<at::Tensor>& dst_perm, const std::optional<at::Tensor>& src_ptr,
                                 const std::optional<at::Tensor>& src_perm) {
  gatv2::check_inputs(x_l, x_r, x_e, att, src, dst, dst_ptr, dst_perm, src_ptr, src_perm);
  const c10::cuda::CUDAGuard guard(x_l.device());
  const Sizes n{x_l.size(0), x_r.size(0), src.size(0), x_l.size(1), x_l.size(2)};
  auto out = at::zeros({n.E, n.H}, x_l.options());
  if (n.E == 0 || n.H == 0) return out;
  const auto xl = x_l.contiguous(), xr = x_r.contiguous(), s = src.contiguous(), d = dst.contiguous();
  const bool has_e = gatv2::given(x_e);
  const auto xe = has_e ? x_e->contiguous() : at::Tensor();
  MG_DISPATCH_FLOATING_TYPES(xl.scalar_type(), "gatv2_edge_score_cuda", [&] {
    using acc = mg::acc_t<scalar_t>;
    const auto w = att.to(c10::CppTypeToScalarType<acc>::value).contiguous();
    const auto run = [&](auto edge) {
      forward_kernel<decltype(edge)::value, scalar_t, acc>
          <<<cuda::num_blocks(n.E * n.H), cuda::kThreads, 0, c10::cuda::getCurrentCUDAStream()>>>(
              xl.const_data_ptr<scalar_t>(), xr.const_data_ptr<scalar_t>(),
              has_e ? xe.const_data_ptr<scalar_t>() : nullptr, w.const_data_ptr<acc>(), s.const_data_ptr<int64_t>(),
              d.const_data_ptr<int64_t>(), n, static_cast<acc>(negative_slope), out.mutable_data_ptr<scalar_t>());
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    };
    has_e ? run(std::true_type{}) : run(std::false_type{});
  });
  return out;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> gatv2_edge_score_backward_cuda(
    const at::Tensor& grad, const at::Tensor& x_l, const at::Tensor& x_r, const std::optional<at::Tensor>& x_e,
    const at::Tensor& att, const at::Tensor& src, const at::Tensor& dst, double negative_slope,
    const std::optional<at::Tensor>& dst_ptr, const std::optional<at::Tensor>& dst_perm,
    const std::optional<at::Tensor>& src_ptr, const std::optional<at::Tensor>& src_perm,
    std::array<bool, 4> output_mask) {
  gatv2::Csr csr = gatv2::check_inputs(x_l, x_r, x_e, att, src, dst, dst_ptr, dst_perm, src_ptr, src_perm);
  gatv2::check_grad(grad, x_l, src);
  const c10::cuda::CUDAGuard guard(x_l.device());
  const Sizes n{x_l.size(0), x_r.size(0), src.size(0), x_l.size(1), x_l.size(2)};
  const int64_t HC = n.H * n.C;
  const bool has_e = gatv2::given(x_e);
  const auto opts = x_l.options();
  const auto none = [&] { return at::empty({0}, opts); };
  at::Tensor gxl = output_mask[0] ? at::zeros({n.V_src, n.H, n.C}, opts) : none();
  at::Tensor gxr = output_mask[1] ? at::zeros({n.V_dst, n.H, n.C}, opts) : none();
  at::Tensor ge = output_mask[2] && has_e ? at::zeros({n.E, n.H, n.C}, opts) : none();
  at::Tensor gatt = output_mask[3] ? at::zeros({n.H, n.C}, opts) : none();
  if (HC == 0 || n.E == 0) return {gxl, gxr, ge, gatt};
  if (!csr.defined() && use_deterministic_path(x_l)) {
    csr = gatv2::build_csr(src.contiguous(), dst.contiguous(), n.V_src, n.V_dst);
  }
  const auto g = grad.contiguous(), xl = x_l.contiguous(), xr = x_r.contiguous();
  const auto s = src.contiguous(), d = dst.contiguous();
  const auto xe = has_e ? x_e->contiguous() : at::Tensor();
  const auto stream = c10::cuda::getCurrentCUDAStream();
  MG_DISPATCH_FLOATING_TYPES(xl.scalar_type(), "gatv2_edge_score_backward_cuda", [&] {
    using acc = mg::acc_t<scalar_t>;
    const auto acc_type = c10::CppTypeToScalarType<acc>::value;
    const auto w = att.to(acc_type).contiguous();
    const acc slope = static_cast<acc>(negative_slope);
    at::Tensor part;
    const auto run = [&](auto edge) {
      constexpr bool kEdge = decltype(edge)::value;
      const scalar_t* xep = kEdge ? xe.const_data_ptr<scalar_t>() : nullptr;
      scalar_t* gep = ge.numel() ? ge.mutable_data_ptr<scalar_t>() : nullptr;
      if (csr.defined()) {
        const int64_t G = gatv2::att_group_rows(n.V_dst, HC), groups = (n.V_dst + G - 1) / G;
        if (output_mask[3]) part = at::empty({groups, HC}, opts.dtype(acc_type));
        if ((output_mask[1] || gep || output_mask[3]) && groups > 0) {
          dst_pass_kernel<kEdge, scalar_t, acc><<<cuda::num_blocks(groups * HC), cuda::kThreads, 0, stream>>>(
              g.const_data_ptr<scalar_t>(), xl.const_data_ptr<scalar_t>(), xr.const_data_ptr<scalar_t>(), xep,
              w.const_data_ptr<acc>(), s.const_data_ptr<int64_t>(), csr.dst_ptr.const_data_ptr<int64_t>(),
              csr.dst_perm.const_data_ptr<int64_t>(), n, slope, G,
              output_mask[1] ? gxr.mutable_data_ptr<scalar_t>() : nullptr, gep,
              part.defined() ? part.mutable_data_ptr<acc>() : nullptr);
          C10_CUDA_KERNEL_LAUNCH_CHECK();
        }
        if (output_mask[0] && n.V_src > 0) {
          src_pass_kernel<kEdge, scalar_t, acc><<<cuda::num_blocks(n.V_src * HC), cuda::kThreads, 0, stream>>>(
              g.const_data_ptr<scalar_t>(), xl.const_data_ptr<scalar_t>(), xr.const_data_ptr<scalar_t>(), xep,
              w.const_data_ptr<acc>(), d.const_data_ptr<int64_t>(), csr.src_ptr.const_data_ptr<int64_t>(),
              csr.src_perm.const_data_ptr<int64_t>(), n, slope, gxl.mutable_data_ptr<scalar_t>());
          C10_CUDA_KERNEL_LAUNCH_CHECK();
        }
        return;
      }
      const int64_t G = gatv2::att_group_rows(n.E, HC), groups = (n.E + G - 1) / G;
      if (output_mask[3]) part = at::empty({groups, HC}, opts.dtype(acc_type));
      // float32 / float64 accumulators for the atomics (the grads themselves when they already have that dtype)
      at::Tensor al = output_mask[0] ? (gxl.scalar_type() == acc_type ? gxl : at::zeros(gxl.sizes(), opts.dtype(acc_type))) : at::Tensor();
      at::Tensor ar = output_mask[1] ? (gxr.scalar_type() == acc_type ? gxr : at::zeros(gxr.sizes(), opts.dtype(acc_type))) : at::Tensor();
      alert_atomic_reduction("gatv2_edge_score_backward_cuda");
      atomic_kernel<kEdge, scalar_t, acc><<<cuda::num_blocks(groups * HC), cuda::kThreads, 0, stream>>>(
          g.const_data_ptr<scalar_t>(), xl.const_data_ptr<scalar_t>(), xr.const_data_ptr<scalar_t>(), xep,
          w.const_data_ptr<acc>(), s.const_data_ptr<int64_t>(), d.const_data_ptr<int64_t>(), n, slope, G,
          al.defined() ? al.mutable_data_ptr<acc>() : nullptr, ar.defined() ? ar.mutable_data_ptr<acc>() : nullptr,
          gep, part.defined() ? part.mutable_data_ptr<acc>() : nullptr);
      C10_CUDA_KERNEL_LAUNCH_CHECK();
      if (al.defined() && !al.is_same(gxl)) gxl.copy_(al);
      if (ar.defined() && !ar.is_same(gxr)) gxr.copy_(ar);
    };
    has_e ? run(std::true_type{}) : run(std::false_type{});
    if (part.defined() && part.size(0) > 0) gatt.copy_(at::sum(part, {0}).view({n.H, n.C}));
  });
  return {gxl, gxr, ge, gatt};
}

}  // namespace
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CUDA, m) {
  m.impl("gatv2_edge_score", &mg::gatv2_edge_score_cuda);
  m.impl("gatv2_edge_score_backward", &mg::gatv2_edge_score_backward_cuda);
}
