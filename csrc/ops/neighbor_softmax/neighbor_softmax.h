// neighbor_softmax: softmax of per-edge scores over each destination's in-edges (GAT attention), fused.
//
//   neighbor_softmax(scores: (E, H) or (E,), rowptr: (V + 1,) int64, edge_id: (E,) int64 or None) -> like scores
//     CSR entry k of row v stands for scores row e = edge_id[k] (e = k when edge_id is None), so scores stay in
//     the caller's edge order and no permuted copy is made. For each row v and head h:
//     out[e, h] = exp(s[e, h] - m) / sum over the row's entries e' of exp(s[e', h] - m), m the row maximum.
//     edge_id must be a permutation of [0, E) (checked cheaply: ids out of range are skipped); rows not
//     reached stay 0.
//   neighbor_softmax_backward(grad, out, rowptr, edge_id) -> like out
//     grad_in[e, h] = out[e, h] * (grad[e, h] - sum over the row's entries e' of out[e', h] * grad[e', h]).
//
// Accumulation in float32 (float64 for float64). Row bounds are clamped to [0, E]. Deterministic: one thread
// per (row, head), no atomics.
#pragma once
