// graclus: greedy graph matching (Graclus coarsening; PyG 2.8's `graclus`, pyg-lib's graclus_cluster).
//
// Inputs
//   rowptr  (V + 1,) int64   CSR row offsets of the adjacency (rowptr[0] == 0, rowptr[V] == E, non-decreasing)
//   col     (E,) int32/int64 neighbour of each entry; rows sorted by column as PyG's sort_edge_index leaves them
//   weight  (E,) float16/bfloat16/float32/float64, optional: weight of each entry (same device as col)
//   seed    int64            seeds the random choices (CPU: the node visit order; CUDA: the colours of each round)
// Output
//   cluster (V,) int64       cluster[u] = min(u, v) when u and v are matched, u for an unmatched node
//
// CPU (pyg-lib's algorithm): nodes are visited in the order of randperm(V) drawn from a CPU generator seeded with
// `seed`; an unmatched node u is matched with
//   - unweighted: its first unmatched neighbour v != u in column order;
//   - weighted: the unmatched entry with the largest weight >= 0 (ties: the last in column order); as in pyg-lib,
//     a self-loop counts as a candidate and matches u with itself, and negative weights are never chosen.
// CUDA: rounds of random colouring + proposal + response (the GPU greedy matching of Auer & Bisseling, as
// torch_cluster and pyg-lib do it). Each round colours every unmatched node blue (probability 0.53406) or red from
// a hash of (seed, round, node); every blue node proposes to an unmatched red neighbour (the first, or the
// heaviest with weight >= 0), every red node accepts one of the blue nodes that proposed to it (the first, or the
// heaviest); a node without any eligible unmatched neighbour (v != u, weight >= 0) becomes a singleton. The
// phases write separate arrays and a final pass applies them, so a round is race-free and the result depends only
// on the inputs and the seed. The result is a maximal matching as well, but another one than the CPU's.
// Checking for unmatched nodes reads one flag on the host every kRoundsPerCheck rounds (the round count depends
// on the data); after kMaxRounds the nodes still unmatched become singletons.
//
// Checks: device, dtype and shape of every argument; on CPU also rowptr's invariants and col within [0, V).
// CUDA kernels clamp row bounds into [0, E] and skip columns outside [0, V).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>

#include "../../common/checks.h"

namespace mg {
namespace graclus {

constexpr double kBlueProbability = 0.53406;

inline void check_graclus_inputs(const at::Tensor& rowptr, const at::Tensor& col,
                                 const std::optional<at::Tensor>& weight) {
  MG_CHECK_DIM(col, 1);
  MG_CHECK_INDEX_DTYPE(col);
  check_rowptr(rowptr, col.size(0), col, "rowptr");
  if (weight.has_value() && weight->defined()) {
    MG_CHECK_SAME_DEVICE_OPT(col, weight);
    MG_CHECK_FLOATING(*weight);
    TORCH_CHECK(weight->dim() == 1 && weight->size(0) == col.size(0), "weight must have shape (", col.size(0),
                ",), got ", weight->sizes());
  }
}

}  // namespace graclus
}  // namespace mg
