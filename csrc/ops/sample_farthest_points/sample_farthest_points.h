// Exact farthest point sampling (PyTorch3D's sample_farthest_points indices).
//
//   sample_farthest_points_idx(points: (N, P, D), lengths: (N,) int64, K: (N,) int64, start: (N,) int64, max_K)
//       -> idx (N, max_K) int64
//     Cloud n: idx[n, 0] = start[n]; each next index is the point whose squared distance to the selected set is
//     largest (ties: the smallest index), for min(K[n], lengths[n]) picks; -1 pads the rest.
//
// Parallel over clouds when there are at least as many clouds as threads; otherwise over the points of each
// cloud within every pick (one large cloud uses every core). Distances accumulate in float32 (float64 input:
// float64). O(K * P) per cloud, as exact FPS must be.
#pragma once
