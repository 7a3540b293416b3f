// CPU kernels for neighbor_softmax (contract in neighbor_softmax.h). Rows in parallel; exp computed once per
// entry (stored, then scaled).
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/zeros_like.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "../../common/checks.h"
#include "../../common/dispatch.h"
#include "../gather_scatter/gather_scatter.h"
#include "neighbor_softmax.h"

namespace mg {
namespace {



at::Tensor neighbor_softmax_cpu(const at::Tensor& scores, const at::Tensor& rowptr,
                                const std::optional<at::Tensor>& edge_id) {
  check_softmax_inputs(scores, rowptr);
  const auto s = scores.contiguous();
  const auto rp = rowptr.contiguous();
  at::Tensor ids_holder;
  const int64_t* ids = edge_ids(edge_id, s, ids_holder);
  auto out = at::zeros_like(s);
  const int64_t E = s.size(0), H = s.dim() == 2 ? s.size(1) : 1, V = rp.size(0) - 1;
  if (out.numel() == 0) return out;
  MG_DISPATCH_FLOATING_TYPES(s.scalar_type(), "neighbor_softmax_cpu", [&] {
    using acc_t = mg::acc_t<scalar_t>;
    const scalar_t* sp = s.const_data_ptr<scalar_t>();
    const int64_t* r = rp.const_data_ptr<int64_t>();
    scalar_t* o = out.mutable_data_ptr<scalar_t>();
    at::parallel_for(0, V, 256, [&](int64_t v0, int64_t v1) {
      std::vector<acc_t> mx(H), sum(H);
      for (int64_t v = v0; v < v1; ++v) {
        int64_t begin, end;
        row_bounds(r, v, E, &begin, &end);
        if (begin == end) continue;
        std::fill(mx.begin(), mx.end(), -std::numeric_limits<acc_t>::infinity());
        std::fill(sum.begin(), sum.end(), acc_t(0));
        for (int64_t k = begin; k < end; ++k) {
          const int64_t e = ids ? ids[k] : k;
          if (e < 0 || e >= E) continue;
          for (int64_t h = 0; h < H; ++h) mx[h] = std::max(mx[h], static_cast<acc_t>(sp[e * H + h]));
        }
        for (int64_t k = begin; k < end; ++k) {
          const int64_t e = ids ? ids[k] : k;
          if (e < 0 || e >= E) continue;
          for (int64_t h = 0; h < H; ++h) {
            const acc_t ex = std::exp(static_cast<acc_t>(sp[e * H + h]) - mx[h]);
            sum[h] += ex;
            o[e * H + h] = static_cast<scalar_t>(ex);
          }
        }
        for (int64_t h = 0; h < H; ++h) sum[h] = acc_t(1) / sum[h];
        for (int64_t k = begin; k < end; ++k) {
          const int64_t e = ids ? ids[k] : k;
          if (e < 0 || e >= E) continue;
          // Recompute exp for 16-bit outputs (the stored value was rounded); reuse it otherwise.
          for (int64_t h = 0; h < H; ++h) {
            const acc_t ex = sizeof(scalar_t) < 4 ? std::exp(static_cast<acc_t>(sp[e * H + h]) - mx[h])
                                                  : static_cast<acc_t>(o[e * H + h]);
            o[e * H + h] = static_cast<scalar_t>(ex * sum[h]);
          }
        }
      }
    });
  });
  return out;
}

at::Tensor neighbor_softmax_backward_cpu(const at::Tensor& grad, const at::Tensor& out, const at::Tensor& rowptr,
                                         const std::optional<at::Tensor>& edge_id) {
  check_softmax_inputs(out, rowptr);
  check_softmax_grad(grad, out);
  const auto g = grad.contiguous();
  const auto y = out.contiguous();
  const auto rp = rowptr.contiguous();
  at::Tensor ids_holder;
  const int64_t* ids = edge_ids(edge_id, y, ids_holder);
  auto gin = at::zeros_like(y);
  const int64_t E = y.size(0), H = y.dim() == 2 ? y.size(1) : 1, V = rp.size(0) - 1;
  if (gin.numel() == 0) return gin;
  MG_DISPATCH_FLOATING_TYPES(y.scalar_type(), "neighbor_softmax_backward_cpu", [&] {
    using acc_t = mg::acc_t<scalar_t>;
    const scalar_t* gp = g.const_data_ptr<scalar_t>();
    const scalar_t* yp = y.const_data_ptr<scalar_t>();
    const int64_t* r = rp.const_data_ptr<int64_t>();
    scalar_t* o = gin.mutable_data_ptr<scalar_t>();
    at::parallel_for(0, V, 256, [&](int64_t v0, int64_t v1) {
      std::vector<acc_t> dot(H);
      for (int64_t v = v0; v < v1; ++v) {
        int64_t begin, end;
        row_bounds(r, v, E, &begin, &end);
        std::fill(dot.begin(), dot.end(), acc_t(0));
        for (int64_t k = begin; k < end; ++k) {
          const int64_t e = ids ? ids[k] : k;
          if (e < 0 || e >= E) continue;
          for (int64_t h = 0; h < H; ++h)
            dot[h] += static_cast<acc_t>(yp[e * H + h]) * static_cast<acc_t>(gp[e * H + h]);
        }
        for (int64_t k = begin; k < end; ++k) {
          const int64_t e = ids ? ids[k] : k;
          if (e < 0 || e >= E) continue;
          for (int64_t h = 0; h < H; ++h)
            o[e * H + h] = static_cast<scalar_t>(static_cast<acc_t>(yp[e * H + h]) *
                                                 (static_cast<acc_t>(gp[e * H + h]) - dot[h]));
        }
      }
    });
  });
  return gin;
}

}  // namespace
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CPU, m) {
  m.impl("neighbor_softmax", &mg::neighbor_softmax_cpu);
  m.impl("neighbor_softmax_backward", &mg::neighbor_softmax_backward_cpu);
}
