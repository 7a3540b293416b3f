// The device-side algorithm of neighbor_sample (the CUDA kernel's, and the CPU's with MESHGRAPH_DEVICE_PATH=1),
// written with ATen ops around two backend steps:
//
//   sample_hop(frontier (F,), frontier_batch (F,) or undefined, k, first_row) -> (edge (P,), row (P,)): the picks
//       of every frontier node (NodeSampler::sample), compacted in frontier order, with row = first_row + i;
//   induced(nodes (M,), batch (M,) or (0,), sorted_keys (M,), order (M,)) -> (row, col, edge): for every node in
//       node order, every CSR edge to a node of the same key space (binary search in sorted_keys), col = order[j].
//
// Relabelling a hop without a hash map: the keys (seed slot * N + node when disjoint, else node) of the nodes so
// far and of the picks are sorted stably together; each pick maps to the first occurrence of its key (an existing
// node, or the first pick of that key, which becomes a new node: new nodes keep pick order). This is exactly the
// CPU kernel's ordered pass, so the two paths return the same tensors. Each hop reads the number of picks and of
// new nodes back to the host (output sizes depend on the data).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <tuple>
#include <vector>

namespace mg {
namespace sampling {

using SampleOutputs = std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor>;

inline at::Tensor cat_or_empty(const std::vector<at::Tensor>& parts, const at::TensorOptions& options) {
  return parts.empty() ? at::empty({0}, options) : at::cat(parts);
}

inline at::Tensor host_counts(const std::vector<int64_t>& v, const at::TensorOptions& options) {
  return at::tensor(v, at::TensorOptions().dtype(at::kLong)).to(options.device());
}

template <typename SampleHop, typename Induced>
SampleOutputs sample_by_hops(const at::Tensor& col, const at::Tensor& seeds, int64_t N, c10::IntArrayRef num_neighbors,
                             bool directed, bool disjoint, SampleHop&& sample_hop, Induced&& induced) {
  const auto options = seeds.options().dtype(at::kLong);
  const int64_t B = seeds.size(0), L = static_cast<int64_t>(num_neighbors.size());
  at::Tensor nodes = seeds.clone(), batch = disjoint ? at::arange(B, options) : at::empty({0}, options);
  at::Tensor keys = disjoint ? batch * N + seeds : seeds;
  std::vector<at::Tensor> rows, cols, edges;
  std::vector<int64_t> n_nodes{B}, n_edges;
  int64_t begin = 0, end = B;
  for (int64_t h = 0; h < L; ++h) {
    const auto frontier = nodes.slice(0, begin, end);
    auto [e, r] = sample_hop(frontier, disjoint ? batch.slice(0, begin, end) : at::Tensor(), num_neighbors[h], begin);
    const int64_t n = nodes.size(0), m = e.size(0);
    const auto w = col.index_select(0, e).clamp(0, N > 0 ? N - 1 : 0);
    const auto b = disjoint ? batch.index_select(0, r) : at::Tensor();
    const auto pick_keys = disjoint ? b * N + w : w;
    const auto [sorted, order] = at::cat({keys, pick_keys}).sort(/*stable=*/true, 0, false);
    auto first = at::ones({n + m}, options.dtype(at::kBool));
    if (n + m > 1) first.slice(0, 1).copy_(sorted.slice(0, 1) != sorted.slice(0, 0, n + m - 1));
    const auto group = first.cumsum(0) - 1;
    const auto rep = at::empty_like(order).scatter_(0, order, order.masked_select(first).index_select(0, group));
    const auto rep_pick = rep.slice(0, n);  // first occurrence of each pick's key, in cat order
    const auto is_new = rep_pick == at::arange(n, n + m, options);
    const auto rank = is_new.cumsum(0) - 1;
    const auto local = at::where(rep_pick < n, rep_pick, rank.index_select(0, (rep_pick - n).clamp_min(0)) + n);
    nodes = at::cat({nodes, w.masked_select(is_new)});
    keys = at::cat({keys, pick_keys.masked_select(is_new)});
    if (disjoint) batch = at::cat({batch, b.masked_select(is_new)});
    if (directed) {
      rows.push_back(r);
      cols.push_back(local);
      edges.push_back(e);
      n_edges.push_back(m);
    }
    begin = end;
    end = nodes.size(0);
    n_nodes.push_back(end - begin);
  }
  at::Tensor row, colx, edge;
  if (directed) {
    row = cat_or_empty(rows, options);
    colx = cat_or_empty(cols, options);
    edge = cat_or_empty(edges, options);
  } else {
    const auto [sorted, order] = keys.sort(/*stable=*/true, 0, false);
    std::tie(row, colx, edge) = induced(nodes, batch, sorted, order);
    std::vector<int64_t> bounds{0};  // edges by the hop of their row node (rows are non-decreasing)
    for (const auto c : n_nodes) bounds.push_back(bounds.back() + c);
    const auto at_bounds = at::searchsorted(row, host_counts(bounds, options)).cpu();
    const int64_t* ab = at_bounds.const_data_ptr<int64_t>();
    for (int64_t h = 0; h <= L; ++h) n_edges.push_back(ab[h + 1] - ab[h]);
  }
  return {nodes, row, colx, edge, batch, host_counts(n_nodes, options), host_counts(n_edges, options)};
}

}  // namespace sampling
}  // namespace mg
