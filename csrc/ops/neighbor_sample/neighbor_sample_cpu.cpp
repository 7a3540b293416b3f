// CPU kernel for neighbor_sample (contract in neighbor_sample.h). Each hop samples its frontier nodes in
// parallel (at::parallel_for; the draws are counter-based, so the thread count never changes them), each into its
// own slice of one buffer; one ordered pass then relabels the picks (an array map over the N nodes, or a hash table
// over (seed slot, node) when disjoint). The induced edges (directed=False) are counted and written in parallel.
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <algorithm>
#include <cstdint>
#include <tuple>
#include <vector>

#include "../../common/dispatch.h"
#include "../../common/determinism.h"
#include "neighbor_sample.h"
#include "neighbor_sample_device.h"

namespace mg {
namespace sampling {
namespace {

using Outputs = SampleOutputs;

at::Tensor from_vector(const std::vector<int64_t>& v, const at::TensorOptions& options) {
  auto t = at::empty({static_cast<int64_t>(v.size())}, options);
  std::copy(v.begin(), v.end(), t.mutable_data_ptr<int64_t>());
  return t;
}

// Local ids of the sampled nodes: keyed by node (an array over N) or by (seed slot, node) when disjoint (an
// open-addressing table with linear probing: one allocation, no per-entry nodes).
class LocalIds {
 public:
  LocalIds(int64_t N, bool disjoint, int64_t expected) : N_(N), disjoint_(disjoint) {
    if (disjoint)
      resize(std::max<int64_t>(64, 2 * expected));
    else
      array_.assign(static_cast<size_t>(N), -1);
  }
  int64_t find(int64_t b, int64_t w) const {
    if (!disjoint_) return array_[w];
    const int64_t key = b * N_ + w;
    for (uint64_t at = slot(key);; at = (at + 1) & mask_) {
      if (keys_[at] == key) return vals_[at];
      if (keys_[at] < 0) return -1;
    }
  }
  // Inserts (b, w) -> id unless present; returns the id it maps to.
  int64_t insert(int64_t b, int64_t w, int64_t id) {
    if (!disjoint_) {
      if (array_[w] < 0) array_[w] = id;
      return array_[w];
    }
    if (2 * (size_ + 1) > static_cast<int64_t>(keys_.size())) resize(2 * static_cast<int64_t>(keys_.size()));
    const int64_t key = b * N_ + w;
    uint64_t at = slot(key);
    for (; keys_[at] >= 0; at = (at + 1) & mask_)
      if (keys_[at] == key) return vals_[at];
    keys_[at] = key;
    vals_[at] = id;
    ++size_;
    return id;
  }

 private:
  uint64_t slot(int64_t key) const { return (static_cast<uint64_t>(key) * 0x9E3779B97F4A7C15ull) >> shift_; }
  void resize(int64_t want) {
    int64_t cap = 64;
    while (cap < want) cap *= 2;
    std::vector<int64_t> old_keys(static_cast<size_t>(cap), -1), old_vals(static_cast<size_t>(cap));
    old_keys.swap(keys_);
    old_vals.swap(vals_);
    mask_ = static_cast<uint64_t>(cap - 1);
    shift_ = 64;
    for (int64_t c = cap; c > 1; c /= 2) --shift_;
    for (size_t i = 0; i < old_keys.size(); ++i) {
      if (old_keys[i] < 0) continue;
      uint64_t at = slot(old_keys[i]);
      while (keys_[at] >= 0) at = (at + 1) & mask_;
      keys_[at] = old_keys[i];
      vals_[at] = old_vals[i];
    }
  }

  int64_t N_;
  bool disjoint_;
  std::vector<int64_t> array_, keys_, vals_;
  int64_t size_ = 0;
  uint64_t mask_ = 0;
  int shift_ = 64;
};

// Samples F frontier nodes in parallel: node i's picks are buf[offs[i], offs[i] + cnt[i]).
template <typename weight_t, typename stamp_t>
void sample_frontier(const NodeSampler<weight_t, stamp_t>& s, const int64_t* frontier, const int64_t* fbatch, int64_t F,
                     int64_t k, const stamp_t* seed_time, std::vector<int64_t>& offs, std::vector<int64_t>& cnt,
                     std::vector<int64_t>& buf) {
  offs.assign(F + 1, 0);
  cnt.assign(F, 0);
  for (int64_t i = 0; i < F; ++i) offs[i + 1] = offs[i] + s.bound(frontier[i], k);
  buf.resize(offs[F]);
  const int64_t grain = std::max<int64_t>(1, 2048 / std::max<int64_t>(1, k < 0 ? 64 : k));
  at::parallel_for(0, F, grain, [&](int64_t i0, int64_t i1) {
    std::vector<int64_t> scratch;
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t b = fbatch ? fbatch[i] : 0;
      const size_t room = static_cast<size_t>(offs[i + 1] - offs[i]);
      if (scratch.size() < room) scratch.resize(room);
      cnt[i] = s.sample(frontier[i], b, k, seed_time ? seed_time[b] : stamp_t(0), buf.data() + offs[i], scratch.data());
    }
  });
}

// MESHGRAPH_DEVICE_PATH=1: the CUDA kernel's algorithm (neighbor_sample_device.h) with CPU loops for its steps.
template <typename weight_t, typename stamp_t>
Outputs sample_device_path(const NodeSampler<weight_t, stamp_t>& s, const at::Tensor& col, const at::Tensor& seeds,
                           c10::IntArrayRef num_neighbors, bool directed, bool disjoint, const stamp_t* seed_time) {
  const auto options = seeds.options().dtype(at::kLong);
  auto sample_hop = [&](const at::Tensor& frontier, const at::Tensor& fbatch, int64_t k, int64_t first_row) {
    const auto f = frontier.contiguous();
    const auto fb = fbatch.defined() ? fbatch.contiguous() : at::Tensor();
    const int64_t F = f.size(0);
    std::vector<int64_t> offs, cnt, buf, e, r;
    sample_frontier(s, f.const_data_ptr<int64_t>(), fb.defined() ? fb.const_data_ptr<int64_t>() : nullptr, F, k,
                    seed_time, offs, cnt, buf);
    for (int64_t i = 0; i < F; ++i)
      for (int64_t t = 0; t < cnt[i]; ++t) {
        e.push_back(buf[offs[i] + t]);
        r.push_back(first_row + i);
      }
    return std::make_pair(from_vector(e, options), from_vector(r, options));
  };
  auto induced = [&](const at::Tensor& nodes, const at::Tensor& batch, const at::Tensor& sorted,
                     const at::Tensor& order) {
    const int64_t M = nodes.size(0), N = s.N;
    const int64_t *np = nodes.const_data_ptr<int64_t>(), *sp = sorted.const_data_ptr<int64_t>(),
                  *op = order.const_data_ptr<int64_t>();
    const int64_t* bp = batch.numel() ? batch.const_data_ptr<int64_t>() : nullptr;
    std::vector<int64_t> r, c, e;
    for (int64_t i = 0; i < M; ++i) {
      int64_t rs, re;
      s.range(np[i], rs, re);
      for (int64_t x = rs; x < re; ++x) {
        const int64_t key = (bp ? bp[i] * N : 0) + clamp_node(s.col[x], N);
        const int64_t* at = std::lower_bound(sp, sp + M, key);
        if (at == sp + M || *at != key) continue;
        r.push_back(i);
        c.push_back(op[at - sp]);
        e.push_back(x);
      }
    }
    return std::make_tuple(from_vector(r, options), from_vector(c, options), from_vector(e, options));
  };
  return sample_by_hops(col, seeds, s.N, num_neighbors, directed, disjoint, sample_hop, induced);
}

template <typename weight_t, typename stamp_t>
Outputs sample_cpu(const NodeSampler<weight_t, stamp_t>& s, const int64_t* seeds, int64_t B,
                   c10::IntArrayRef num_neighbors, bool directed, bool disjoint, const stamp_t* seed_time,
                   const at::TensorOptions& options) {
  const int64_t N = s.N, L = static_cast<int64_t>(num_neighbors.size());
  const int64_t* rowptr = s.rowptr;
  std::vector<int64_t> nodes(seeds, seeds + B), batch, rows, cols, edges, n_nodes{B}, n_edges;
  if (disjoint)
    for (int64_t i = 0; i < B; ++i) batch.push_back(i);
  int64_t expected = B;  // nodes a full sample reaches at most (capped): sizes the disjoint table once
  for (const auto k : num_neighbors) expected = std::min<int64_t>(expected * (1 + std::max<int64_t>(k, 16)), int64_t{1} << 15);
  LocalIds ids(N, disjoint, expected);
  for (int64_t i = 0; i < B; ++i) ids.insert(disjoint ? i : 0, seeds[i], i);
  int64_t begin = 0, end = B;
  for (int64_t h = 0; h < L; ++h) {
    const int64_t F = end - begin;
    std::vector<int64_t> offs, cnt, buf;
    sample_frontier(s, nodes.data() + begin, disjoint ? batch.data() + begin : nullptr, F, num_neighbors[h], seed_time,
                    offs, cnt, buf);
    int64_t ne = 0;
    for (int64_t i = 0; i < F; ++i) {
      const int64_t b = disjoint ? batch[begin + i] : 0;
      for (int64_t t = 0; t < cnt[i]; ++t) {
        const int64_t e = buf[offs[i] + t], w = clamp_node(s.col[e], N);
        const int64_t next = static_cast<int64_t>(nodes.size());
        const int64_t local = ids.insert(b, w, next);
        if (local == next) {
          nodes.push_back(w);
          if (disjoint) batch.push_back(b);
        }
        if (directed) {
          rows.push_back(begin + i);
          cols.push_back(local);
          edges.push_back(e);
          ++ne;
        }
      }
    }
    if (directed) n_edges.push_back(ne);
    begin = end;
    end = static_cast<int64_t>(nodes.size());
    n_nodes.push_back(end - begin);
  }
  if (!directed) {  // induced subgraph: every CSR edge between two sampled nodes
    const int64_t M = static_cast<int64_t>(nodes.size());
    std::vector<int64_t> offs(M + 1, 0);
    auto scan = [&](int64_t i, auto&& emit) {
      const int64_t v = nodes[i], b = disjoint ? batch[i] : 0;
      for (int64_t e = rowptr[v]; e < rowptr[v + 1]; ++e) {
        const int64_t local = ids.find(b, clamp_node(s.col[e], N));
        if (local >= 0) emit(e, local);
      }
    };
    at::parallel_for(0, M, 256, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) scan(i, [&](int64_t, int64_t) { ++offs[i + 1]; });
    });
    for (int64_t i = 0; i < M; ++i) offs[i + 1] += offs[i];
    rows.resize(offs[M]);
    cols.resize(offs[M]);
    edges.resize(offs[M]);
    at::parallel_for(0, M, 256, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        int64_t at = offs[i];
        scan(i, [&](int64_t e, int64_t local) {
          rows[at] = i;
          cols[at] = local;
          edges[at++] = e;
        });
      }
    });
    int64_t first = 0;
    for (int64_t h = 0; h <= L; ++h) {  // edges by the hop of their row node
      const int64_t last = first + n_nodes[h];
      n_edges.push_back(offs[last] - offs[first]);
      first = last;
    }
  }
  return {from_vector(nodes, options), from_vector(rows, options), from_vector(cols, options),
          from_vector(edges, options), from_vector(batch, options), from_vector(n_nodes, options),
          from_vector(n_edges, options)};
}

Outputs neighbor_sample_cpu(const at::Tensor& rowptr, const at::Tensor& col, const at::Tensor& seeds,
                            c10::IntArrayRef num_neighbors, bool replace, bool directed, bool disjoint,
                            const std::optional<at::Tensor>& weight, const std::optional<at::Tensor>& time,
                            const std::optional<at::Tensor>& seed_time, int64_t rng_seed) {
  check_neighbor_sample_inputs(rowptr, col, seeds, num_neighbors, disjoint, weight, time, seed_time);
  const int64_t N = rowptr.size(0) - 1, B = seeds.size(0);
  const auto rp = rowptr.contiguous(), cl = col.contiguous(), sd = seeds.contiguous();
  const int64_t* seed_p = sd.const_data_ptr<int64_t>();
  for (int64_t i = 0; i < B; ++i)
    TORCH_CHECK(seed_p[i] >= 0 && seed_p[i] < N, "seeds must be in [0, ", N, "), got ", seed_p[i]);
  const auto w = weight.has_value() ? weight->contiguous() : at::Tensor();
  const auto t = time.has_value() ? time->contiguous() : at::Tensor();
  const auto st = seed_time.has_value() ? seed_time->contiguous() : at::Tensor();
  const auto options = rowptr.options().dtype(at::kLong);
  auto run = [&](auto weight_tag, auto time_tag) {
    using weight_t = decltype(weight_tag);
    using stamp_t = decltype(time_tag);
    const NodeSampler<weight_t, stamp_t> s{rp.const_data_ptr<int64_t>(), cl.const_data_ptr<int64_t>(), N, col.size(0),
                                          w.defined() ? w.const_data_ptr<weight_t>() : nullptr,
                                          t.defined() ? t.const_data_ptr<stamp_t>() : nullptr, replace,
                                          static_cast<uint64_t>(rng_seed)};
    const stamp_t* stp = st.defined() ? st.const_data_ptr<stamp_t>() : nullptr;
    if (device_path_forced()) return sample_device_path(s, cl, sd, num_neighbors, directed, disjoint, stp);
    return sample_cpu(s, seed_p, B, num_neighbors, directed, disjoint,
                      stp, options);
  };
  auto with_time = [&](auto weight_tag) {
    if (t.defined() && t.scalar_type() == at::kDouble) return run(weight_tag, double{});
    return run(weight_tag, int64_t{});
  };
  if (!w.defined()) return with_time(float{});
  Outputs out;
  MG_DISPATCH_FLOATING_TYPES(w.scalar_type(), "neighbor_sample_cpu", [&] { out = with_time(scalar_t{}); });
  return out;
}

}  // namespace
}  // namespace sampling
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CPU, m) {
  m.impl("neighbor_sample", &mg::sampling::neighbor_sample_cpu);
}
