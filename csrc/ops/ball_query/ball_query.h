// ball_query: the first K points of p2 within `radius` of each point of p1, in index order (PyTorch3D semantics).
//
//   ball_query_idx(p1: (N, P1, D), p2: (N, P2, D), lengths1, lengths2: (N,) int64, K, radius) -> idx (N, P1, K)
//     For query i < lengths1[n]: the smallest indices j < lengths2[n] with |p1[n, i] - p2[n, j]|^2 <= radius^2,
//     ascending, at most K of them; -1 pads the rest (and every padded query's row).
//
// D <= 3 searches the per-cloud grid of knn (csrc/ops/knn/knn.h) over the cells the ball touches, keeping the K
// smallest indices in a max-heap in the output row; when the ball covers more cells than the cloud has points (a
// radius large for the cloud), or D > 3, it scans the cloud in index order and stops at the K-th hit.
#pragma once

#include <c10/macros/Macros.h>

#include <cstdint>
#include <limits>

#include "../knn/knn.h"

namespace mg {
namespace ball {

// Offer index j to a max-heap (by index) of capacity K in `row` holding `size` entries.
C10_HOST_DEVICE inline void offer_index(int64_t* row, int64_t& size, int64_t K, int64_t j) {
  if (size < K) {
    int64_t c = size++;
    while (c > 0) {
      const int64_t p = (c - 1) / 2;
      if (row[p] >= j) break;
      row[c] = row[p];
      c = p;
    }
    row[c] = j;
    return;
  }
  if (j >= row[0]) return;
  int64_t c = 0;
  while (true) {
    const int64_t l = 2 * c + 1, r = l + 1;
    int64_t m = c;
    int64_t mv = j;
    if (l < size && row[l] > mv) { m = l; mv = row[l]; }
    if (r < size && row[r] > mv) { m = r; mv = row[r]; }
    if (m == c) break;
    row[c] = row[m];
    c = m;
  }
  row[c] = j;
}

// Ascending heap sort of the first `size` entries of a max-heap by index.
C10_HOST_DEVICE inline void sort_indices(int64_t* row, int64_t size) {
  for (int64_t end = size - 1; end > 0; --end) {
    const int64_t t = row[0];
    row[0] = row[end];
    row[end] = t;
    int64_t c = 0;
    while (true) {
      const int64_t l = 2 * c + 1, r = l + 1;
      int64_t m = c;
      if (l < end && row[l] > row[m]) m = l;
      if (r < end && row[r] > row[m]) m = r;
      if (m == c) break;
      const int64_t s = row[c];
      row[c] = row[m];
      row[m] = s;
      c = m;
    }
  }
}

// Grid search for one query; fills row[0:count) with the smallest in-ball indices, ascending. Returns count.
// The cells searched are those the box q +- r overlaps, widened by a rounding tolerance (points were assigned to
// cells in floating point); a per-cell distance bound skips the box's corners.
template <typename acc_t>
C10_HOST_DEVICE inline int64_t grid_ball(const acc_t* q, const acc_t* params, const acc_t* pts, const int64_t* point_idx,
                                         const int64_t* cell_start, int64_t K, acc_t r, acc_t r2, int64_t* row) {
  const acc_t s = params[3];
  const int64_t dims[3] = {static_cast<int64_t>(params[4]), static_cast<int64_t>(params[5]),
                           static_cast<int64_t>(params[6])};
  const int64_t first_cell = static_cast<int64_t>(params[7]);
  int64_t lo[3], hi[3];
  for (int a = 0; a < 3; ++a) {
    const acc_t o = params[a], top = static_cast<acc_t>(dims[a] - 1);
    const acc_t tol = acc_t(8) * std::numeric_limits<acc_t>::epsilon() *
                      ((o < 0 ? -o : o) + (q[a] < 0 ? -q[a] : q[a]) + r + static_cast<acc_t>(dims[a]) * s);
    // clamp in floating point before converting: far queries would overflow int64
    acc_t l = (q[a] - r - tol - o) / s, h = (q[a] + r + tol - o) / s;
    l = !(l >= 0) ? acc_t(0) : (l > top ? top : l);
    h = !(h >= 0) ? acc_t(0) : (h > top ? top : h);
    lo[a] = static_cast<int64_t>(l);
    hi[a] = static_cast<int64_t>(h);
  }
  int64_t size = 0;
  for (int64_t x = lo[0]; x <= hi[0]; ++x)
    for (int64_t y = lo[1]; y <= hi[1]; ++y)
      for (int64_t z = lo[2]; z <= hi[2]; ++z) {
        const int64_t cc[3] = {x, y, z};
        acc_t bound = 0;  // squared distance from q to the cell
        for (int a = 0; a < 3; ++a) {
          const acc_t l = params[a] + static_cast<acc_t>(cc[a]) * s;
          const acc_t d = q[a] < l ? l - q[a] : (q[a] > l + s ? q[a] - l - s : acc_t(0));
          bound += d * d;
        }
        if (bound > r2) continue;
        const int64_t cell = first_cell + (x * dims[1] + y) * dims[2] + z;
        for (int64_t t = cell_start[cell]; t < cell_start[cell + 1]; ++t) {
          if (knn::point_distance(q, pts + 3 * t, 2) <= r2) offer_index(row, size, K, point_idx[t]);
        }
      }
  sort_indices(row, size);
  return size;
}

}  // namespace ball
}  // namespace mg
