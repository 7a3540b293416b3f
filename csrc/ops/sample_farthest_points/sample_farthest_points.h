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

#include <ATen/core/Tensor.h>

#include "../knn/knn.h"

namespace mg {
namespace fps {

// Devices, dtypes and shapes of every argument. lengths, K and start values are clamped by the kernels.
inline void check_fps_inputs(const at::Tensor& points, const at::Tensor& lengths, const at::Tensor& K,
                             const at::Tensor& start, int64_t max_K) {
  TORCH_CHECK(points.dim() == 3, "points must be (N, P, D)");
  MG_CHECK_FLOATING(points);
  TORCH_CHECK(max_K >= 0, "max_K must be non-negative");
  const int64_t N = points.size(0);
  check_lengths(lengths, N, points, "lengths");
  check_lengths(K, N, points, "K");
  check_lengths(start, N, points, "start");
}

}  // namespace fps
}  // namespace mg
