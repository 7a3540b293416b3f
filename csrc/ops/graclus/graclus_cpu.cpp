// CPU kernel for graclus (contract in graclus.h): pyg-lib's sequential greedy matching in a seeded random order.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/full.h>
#include <ATen/ops/randperm.h>
#include <torch/library.h>

#include <algorithm>

#include "../../common/dispatch.h"
#include "graclus.h"

namespace mg {
namespace graclus {
namespace {

template <typename index_t>
void match_unweighted(const int64_t* rowptr, const index_t* col, const int64_t* order, int64_t V, int64_t* out) {
  for (int64_t n = 0; n < V; ++n) {
    const int64_t u = order[n];
    if (out[u] >= 0) continue;
    out[u] = u;  // first: a self-loop is never a candidate
    for (int64_t e = rowptr[u]; e < rowptr[u + 1]; ++e) {
      const int64_t v = col[e];
      if (out[v] >= 0) continue;
      out[u] = out[v] = std::min(u, v);
      break;
    }
  }
}

template <typename index_t, typename scalar_t>
void match_weighted(const int64_t* rowptr, const index_t* col, const scalar_t* weight, const int64_t* order, int64_t V,
                    int64_t* out) {
  using acc = mg::acc_t<scalar_t>;
  for (int64_t n = 0; n < V; ++n) {
    const int64_t u = order[n];
    if (out[u] >= 0) continue;
    int64_t best = u;
    acc w_best = 0;
    for (int64_t e = rowptr[u]; e < rowptr[u + 1]; ++e) {
      const int64_t v = col[e];
      if (out[v] >= 0) continue;
      const acc w = static_cast<acc>(weight[e]);
      if (w >= w_best) {  // ties: the last entry; NaN never wins
        best = v;
        w_best = w;
      }
    }
    out[u] = out[best] = std::min(u, best);
  }
}

at::Tensor graclus_cpu(const at::Tensor& rowptr_in, const at::Tensor& col_in, const std::optional<at::Tensor>& weight,
                       int64_t seed) {
  check_graclus_inputs(rowptr_in, col_in, weight);
  const int64_t V = rowptr_in.size(0) - 1;
  auto out = at::full({V}, -1, rowptr_in.options().dtype(at::kLong));
  if (V == 0) return out;
  const at::Tensor rowptr = rowptr_in.contiguous(), col = col_in.contiguous();
  auto gen = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(seed));
  const at::Tensor order = at::randperm(V, gen, rowptr.options().dtype(at::kLong));
  const int64_t* rp = rowptr.const_data_ptr<int64_t>();
  const int64_t* op = order.const_data_ptr<int64_t>();
  int64_t* outp = out.mutable_data_ptr<int64_t>();
  MG_DISPATCH_INDEX_TYPES(col.scalar_type(), "graclus_cpu", [&] {
    const index_t* cp = col.const_data_ptr<index_t>();
    bool in_range = true;
    for (int64_t e = 0; e < col.numel(); ++e) in_range &= cp[e] >= 0 && cp[e] < V;
    TORCH_CHECK(in_range, "col must hold node indices in [0, ", V, ")");
    if (!weight.has_value() || !weight->defined()) {
      match_unweighted<index_t>(rp, cp, op, V, outp);
      return;
    }
    const at::Tensor w = weight->contiguous();
    MG_DISPATCH_FLOATING_TYPES(w.scalar_type(), "graclus_cpu_weighted", [&] {
      match_weighted<index_t, scalar_t>(rp, cp, w.const_data_ptr<scalar_t>(), op, V, outp);
    });
  });
  return out;
}

}  // namespace
}  // namespace graclus
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CPU, m) { m.impl("graclus", &mg::graclus::graclus_cpu); }
