// CPU kernels of spline_weighting (contract and algorithms in spline_weighting.h).
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <torch/library.h>

#include <algorithm>
#include <vector>

#include "../../common/cpu_kernels.h"
#include "../../common/cpu_pool.h"
#include "../../common/determinism.h"
#include "../../common/dispatch.h"
#include "../gatv2_edge_score/gatv2_edge_score.h"
#include "spline_weighting.h"

namespace mg {
namespace spline {
namespace {

// acc[0, n) += a * src[0, n) (contiguous; __restrict__ lets the compiler vectorize it).
template <typename acc_t, typename src_t>
inline __attribute__((always_inline)) void axpy(acc_t* __restrict__ acc, const src_t* __restrict__ src, acc_t a,
                                                int64_t n) {
  for (int64_t j = 0; j < n; ++j) acc[j] += a * static_cast<acc_t>(src[j]);
}

// Per-task scratch: one Cin- or Cout-wide accumulator per weight slice, and the slices a row touched (in first-touch
// order, so the summation order is a function of the input only).
template <typename acc_t>
struct SliceAccumulator {
  int64_t width;
  std::vector<acc_t> rows;
  std::vector<uint8_t> mark;
  std::vector<int64_t> touched;
  SliceAccumulator(int64_t K, int64_t width_) : width(width_), rows(K * width_, acc_t(0)), mark(K, 0) {}
  acc_t* touch(int64_t w) {
    if (!mark[w]) {
      mark[w] = 1;
      touched.push_back(w);
    }
    return rows.data() + w * width;
  }
  acc_t* row(int64_t w) { return rows.data() + w * width; }
  void clear() {
    for (const int64_t w : touched) {
      std::fill(rows.begin() + w * width, rows.begin() + (w + 1) * width, acc_t(0));
      mark[w] = 0;
    }
    touched.clear();
  }
};

inline int64_t grain_rows(int64_t entries, int64_t rows, int64_t work_per_entry) {
  const int64_t per_row = std::max<int64_t>(1, (entries / std::max<int64_t>(rows, 1) + 1) * work_per_entry);
  return std::max<int64_t>(1, 65536 / per_row);
}

// weight as a contiguous (K, Cin, Cout) accumulation-type tensor, or its (K, Cout, Cin) transpose.
at::Tensor acc_weight(const at::Tensor& weight, bool transposed) {
  const auto acc = weight.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  const at::Tensor w = transposed ? weight.transpose(1, 2) : weight;
  return w.to(acc).contiguous();
}

template <typename scalar_t, typename index_t>
void forward_kernel(const at::Tensor& x, const at::Tensor& wacc, const at::Tensor& basis, const at::Tensor& wi,
                    const at::Tensor& rowptr, const at::Tensor& col, bool mean, at::Tensor& out) {
  using acc_t = mg::acc_t<scalar_t>;
  const int64_t V_src = x.size(0), Cin = x.size(1), K = wacc.size(0), Cout = wacc.size(2), S = basis.size(1);
  const int64_t V_dst = out.size(0), E = col.numel();
  const scalar_t* xp = x.const_data_ptr<scalar_t>();
  const acc_t* W = wacc.const_data_ptr<acc_t>();
  const scalar_t* bp = basis.const_data_ptr<scalar_t>();
  const int64_t* ip = wi.const_data_ptr<int64_t>();
  const int64_t* rp = rowptr.const_data_ptr<int64_t>();
  const index_t* cp = col.const_data_ptr<index_t>();
  scalar_t* o = out.mutable_data_ptr<scalar_t>();
  at::parallel_for(0, V_dst, grain_rows(E, V_dst, S * Cin + Cout), [&](int64_t v0, int64_t v1) {
    SliceAccumulator<acc_t> A(K, Cin);
    std::vector<acc_t> acc(Cout);
    cpu::dispatch_isa([&] {
      for (int64_t v = v0; v < v1; ++v) {
        int64_t begin, end;
        row_bounds(rp, v, E, &begin, &end);
        for (int64_t k = begin; k < end; ++k) {
          const int64_t u = cp[k];
          if (u < 0 || u >= V_src) continue;
          for (int64_t s = 0; s < S; ++s) {
            const int64_t w = ip[k * S + s];
            if (w < 0 || w >= K) continue;
            axpy(A.touch(w), xp + u * Cin, static_cast<acc_t>(bp[k * S + s]), Cin);
          }
        }
        std::fill(acc.begin(), acc.end(), acc_t(0));
        for (const int64_t w : A.touched) {
          const acc_t* a = A.row(w);
          for (int64_t i = 0; i < Cin; ++i) axpy(acc.data(), W + (w * Cin + i) * Cout, a[i], Cout);
        }
        A.clear();
        const acc_t c = row_scale<acc_t>(end - begin, mean);
        for (int64_t j = 0; j < Cout; ++j) o[v * Cout + j] = static_cast<scalar_t>(acc[j] * c);
      }
    });
  });
}

// grad_x over the transposed CSR: G[w] += basis * g_v per out-entry of u, then grad_x[u] = sum_w weight[w] @ G[w].
template <typename scalar_t, typename index_t>
void grad_x_kernel(const at::Tensor& grad_out, const at::Tensor& wt, const at::Tensor& basis, const at::Tensor& wi,
                   const at::Tensor& rowptr, const at::Tensor& rowptr_t, const at::Tensor& col_t,
                   const at::Tensor& eid_t, bool mean, at::Tensor& grad_x) {
  using acc_t = mg::acc_t<scalar_t>;
  const int64_t V_src = grad_x.size(0), Cin = grad_x.size(1), K = wt.size(0), Cout = wt.size(1), S = basis.size(1);
  const int64_t V_dst = grad_out.size(0), E = col_t.numel();
  const scalar_t* gp = grad_out.const_data_ptr<scalar_t>();
  const acc_t* Wt = wt.const_data_ptr<acc_t>();
  const scalar_t* bp = basis.const_data_ptr<scalar_t>();
  const int64_t* ip = wi.const_data_ptr<int64_t>();
  const int64_t* rp = rowptr.const_data_ptr<int64_t>();
  const int64_t* rpt = rowptr_t.const_data_ptr<int64_t>();
  const index_t* ct = col_t.const_data_ptr<index_t>();
  const int64_t* et = eid_t.const_data_ptr<int64_t>();
  scalar_t* gx = grad_x.mutable_data_ptr<scalar_t>();
  at::parallel_for(0, V_src, grain_rows(E, V_src, S * Cout + Cin), [&](int64_t u0, int64_t u1) {
    SliceAccumulator<acc_t> G(K, Cout);
    std::vector<acc_t> acc(Cin);
    cpu::dispatch_isa([&] {
      for (int64_t u = u0; u < u1; ++u) {
        int64_t begin, end;
        row_bounds(rpt, u, E, &begin, &end);
        for (int64_t t = begin; t < end; ++t) {
          int64_t v, k;
          acc_t c;
          if (!transposed_entry(ct, et, rp, t, V_dst, E, mean, &v, &k, &c)) continue;
          for (int64_t s = 0; s < S; ++s) {
            const int64_t w = ip[k * S + s];
            if (w < 0 || w >= K) continue;
            axpy(G.touch(w), gp + v * Cout, static_cast<acc_t>(bp[k * S + s]) * c, Cout);
          }
        }
        std::fill(acc.begin(), acc.end(), acc_t(0));
        for (const int64_t w : G.touched) {
          const acc_t* g = G.row(w);
          for (int64_t j = 0; j < Cout; ++j) axpy(acc.data(), Wt + (w * Cout + j) * Cin, g[j], Cin);
        }
        G.clear();
        for (int64_t i = 0; i < Cin; ++i) gx[u * Cin + i] = static_cast<scalar_t>(acc[i]);
      }
    });
  });
}

// grad_basis and grad_weight by destination rows, in fixed chunks (each with its own grad_weight buffer).
template <typename scalar_t, typename index_t>
void grad_wb_kernel(const at::Tensor& grad_out, const at::Tensor& x, const at::Tensor& wt, const at::Tensor& basis,
                    const at::Tensor& wi, const at::Tensor& rowptr, const at::Tensor& col, bool mean, bool need_w,
                    bool need_b, at::Tensor& grad_w, at::Tensor& grad_b) {
  using acc_t = mg::acc_t<scalar_t>;
  const int64_t V_src = x.size(0), Cin = x.size(1), K = wt.size(0), Cout = wt.size(1), S = basis.size(1);
  const int64_t V_dst = grad_out.size(0), E = col.numel(), KW = K * Cin * Cout;
  const scalar_t* gp = grad_out.const_data_ptr<scalar_t>();
  const scalar_t* xp = x.const_data_ptr<scalar_t>();
  const acc_t* Wt = wt.const_data_ptr<acc_t>();
  const scalar_t* bp = basis.const_data_ptr<scalar_t>();
  const int64_t* ip = wi.const_data_ptr<int64_t>();
  const int64_t* rp = rowptr.const_data_ptr<int64_t>();
  const index_t* cp = col.const_data_ptr<index_t>();
  scalar_t* gb = need_b ? grad_b.mutable_data_ptr<scalar_t>() : nullptr;
  const int64_t chunks = need_w ? weight_grad_chunks(V_dst, KW, sizeof(acc_t)) : std::max<int64_t>(1, V_dst);
  std::vector<acc_t> buf(need_w ? static_cast<size_t>(chunks * KW) : 0, acc_t(0));
  at::parallel_for(0, chunks, 1, [&](int64_t c0, int64_t c1) {
    SliceAccumulator<acc_t> A(need_w ? K : 0, Cin);  // sum of basis * x_u per slice (grad_weight)
    SliceAccumulator<acc_t> H(need_b ? K : 0, Cin);  // weight[w] @ g_v per slice (grad_basis)
    std::vector<acc_t> g(Cout);
    cpu::dispatch_isa([&] {
      for (int64_t c = c0; c < c1; ++c) {
        acc_t* gw = need_w ? buf.data() + c * KW : nullptr;
        for (int64_t v = V_dst * c / chunks; v < V_dst * (c + 1) / chunks; ++v) {
          int64_t begin, end;
          row_bounds(rp, v, E, &begin, &end);
          const acc_t cv = row_scale<acc_t>(end - begin, mean);
          for (int64_t j = 0; j < Cout; ++j) g[j] = static_cast<acc_t>(gp[v * Cout + j]) * cv;
          for (int64_t k = begin; k < end; ++k) {
            const int64_t u = cp[k];
            const bool ok = u >= 0 && u < V_src;
            for (int64_t s = 0; s < S; ++s) {
              const int64_t w = ip[k * S + s];
              if (!ok || w < 0 || w >= K) {
                if (need_b) gb[k * S + s] = scalar_t(0);
                continue;
              }
              const scalar_t* xu = xp + u * Cin;
              if (need_w) axpy(A.touch(w), xu, static_cast<acc_t>(bp[k * S + s]), Cin);
              if (need_b) {
                const bool fresh = !H.mark[w];
                acc_t* h = H.touch(w);
                if (fresh)
                  for (int64_t j = 0; j < Cout; ++j) axpy(h, Wt + (w * Cout + j) * Cin, g[j], Cin);
                acc_t dot = acc_t(0);
                for (int64_t i = 0; i < Cin; ++i) dot += static_cast<acc_t>(xu[i]) * h[i];
                gb[k * S + s] = static_cast<scalar_t>(dot);
              }
            }
          }
          if (need_w) {
            for (const int64_t w : A.touched) {
              const acc_t* a = A.row(w);
              for (int64_t i = 0; i < Cin; ++i) axpy(gw + (w * Cin + i) * Cout, g.data(), a[i], Cout);
            }
            A.clear();
          }
          if (need_b) H.clear();
        }
      }
    });
  });
  if (!need_w) return;
  scalar_t* out = grad_w.mutable_data_ptr<scalar_t>();
  at::parallel_for(0, KW, 4096, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      acc_t s = 0;
      for (int64_t c = 0; c < chunks; ++c) s += buf[c * KW + i];
      out[i] = static_cast<scalar_t>(s);
    }
  });
}

// grad_weight the CUDA way (MESHGRAPH_DEVICE_PATH=1): the (entry, s) pairs grouped by weight slice, each of
// `slices` parts of a group summed on its own, then the parts added in order.
template <typename scalar_t, typename index_t>
void grad_w_grouped(const at::Tensor& grad_out, const at::Tensor& x, const at::Tensor& basis, const at::Tensor& wi,
                    const at::Tensor& rowptr, const at::Tensor& col, bool mean, at::Tensor& grad_w) {
  using acc_t = mg::acc_t<scalar_t>;
  const int64_t V_src = x.size(0), Cin = x.size(1), K = grad_w.size(0), Cout = grad_w.size(2), S = basis.size(1);
  const int64_t V_dst = grad_out.size(0), E = col.numel(), CC = Cin * Cout;
  const int64_t Z = weight_grad_slices(K, Cin, Cout);
  auto [ptr_t, perm_t] = gatv2::csr_of(wi.reshape({-1}), K);
  const int64_t* ptr = ptr_t.const_data_ptr<int64_t>();
  const int64_t* perm = perm_t.const_data_ptr<int64_t>();
  std::vector<int64_t> rows(E, -1);  // the destination row of every entry
  const int64_t* rp = rowptr.const_data_ptr<int64_t>();
  for (int64_t v = 0; v < V_dst; ++v) mark_entry_rows(rp, v, E, rows.data());
  const scalar_t* gp = grad_out.const_data_ptr<scalar_t>();
  const scalar_t* xp = x.const_data_ptr<scalar_t>();
  const scalar_t* bp = basis.const_data_ptr<scalar_t>();
  const index_t* cp = col.const_data_ptr<index_t>();
  std::vector<acc_t> part(static_cast<size_t>(Z * K * CC), acc_t(0));
  at::parallel_for(0, Z * K, 1, [&](int64_t q0, int64_t q1) {
    for (int64_t q = q0; q < q1; ++q) {
      const int64_t z = q / K, w = q - z * K;
      acc_t* dst = part.data() + (z * K + w) * CC;
      int64_t j0, j1;
      group_part(ptr, w, z, Z, E * S, &j0, &j1);
      for (int64_t j = j0; j < j1; ++j) {
        int64_t u, v;
        acc_t bb;
        if (!weight_pair(perm[j], bp, rows.data(), rp, cp, V_src, E, S, mean, &u, &v, &bb)) continue;
        for (int64_t i = 0; i < Cin; ++i) {
          const acc_t a = bb * static_cast<acc_t>(xp[u * Cin + i]);
          for (int64_t o = 0; o < Cout; ++o) dst[i * Cout + o] += a * static_cast<acc_t>(gp[v * Cout + o]);
        }
      }
    }
  });
  scalar_t* out = grad_w.mutable_data_ptr<scalar_t>();
  for (int64_t i = 0; i < K * CC; ++i) {
    acc_t s = 0;
    for (int64_t z = 0; z < Z; ++z) s += part[z * K * CC + i];
    out[i] = static_cast<scalar_t>(s);
  }
}

at::Tensor spline_weighting_cpu(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& basis,
                                const at::Tensor& weight_index, const at::Tensor& rowptr, const at::Tensor& col,
                                c10::string_view reduce, const std::optional<at::Tensor>& rowptr_t,
                                const std::optional<at::Tensor>& col_t, const std::optional<at::Tensor>& eid_t) {
  const bool mean = check_forward(x, weight, basis, weight_index, rowptr, col, reduce, rowptr_t, col_t, eid_t);
  const int64_t V_dst = rowptr.size(0) - 1, Cout = weight.size(2);
  auto out = cpu::pooled_empty({V_dst, Cout}, x.options());
  if (out.numel() == 0) return out;
  const auto xc = x.contiguous(), bc = basis.contiguous(), wic = weight_index.contiguous();
  const auto rp = rowptr.contiguous(), c = col.contiguous();
  const auto wacc = acc_weight(weight, false);
  MG_DISPATCH_FLOATING_TYPES(x.scalar_type(), "spline_weighting_cpu", [&] {
    MG_DISPATCH_INDEX_TYPES(c.scalar_type(), "spline_weighting_cpu", [&] {
      forward_kernel<scalar_t, index_t>(xc, wacc, bc, wic, rp, c, mean, out);
    });
  });
  return out;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> spline_weighting_backward_cpu(
    const at::Tensor& grad_out, const at::Tensor& x, const at::Tensor& weight, const at::Tensor& basis,
    const at::Tensor& weight_index, const at::Tensor& rowptr, const at::Tensor& col, c10::string_view reduce,
    const at::Tensor& rowptr_t, const at::Tensor& col_t, const at::Tensor& eid_t, std::array<bool, 3> mask) {
  Backward bw = backward_prologue(grad_out, x, weight, basis, weight_index, rowptr, col, reduce, rowptr_t, col_t,
                                  eid_t, mask);
  if (col.numel() == 0 || weight.numel() == 0 || x.numel() == 0) return bw.result();
  const bool mean = bw.mean;
  const auto g = grad_out.contiguous(), xc = x.contiguous(), bc = basis.contiguous(), wic = weight_index.contiguous();
  const auto rp = rowptr.contiguous(), c = col.contiguous();
  const bool grouped = mask[1] && device_path_forced();
  const auto wt = (mask[0] || mask[2]) ? acc_weight(weight, true) : at::Tensor();
  MG_DISPATCH_FLOATING_TYPES(x.scalar_type(), "spline_weighting_backward_cpu", [&] {
    MG_DISPATCH_INDEX_TYPES(c.scalar_type(), "spline_weighting_backward_cpu", [&] {
      if (mask[0])
        grad_x_kernel<scalar_t, index_t>(g, wt, bc, wic, rp, rowptr_t.contiguous(), col_t.contiguous(),
                                         eid_t.contiguous(), mean, bw.gx);
      if (mask[1] && grouped) grad_w_grouped<scalar_t, index_t>(g, xc, bc, wic, rp, c, mean, bw.gw);
      if ((mask[1] && !grouped) || mask[2]) {
        const auto wtb = wt.defined() ? wt : acc_weight(weight, true);
        grad_wb_kernel<scalar_t, index_t>(g, xc, wtb, bc, wic, rp, c, mean, mask[1] && !grouped, mask[2], bw.gw,
                                          bw.gb);
      }
    });
  });
  return bw.result();
}

}  // namespace
}  // namespace spline
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CPU, m) {
  m.impl("spline_weighting", &mg::spline::spline_weighting_cpu);
  m.impl("spline_weighting_backward", &mg::spline::spline_weighting_backward_cpu);
}
