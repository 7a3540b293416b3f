// Exact K nearest neighbours between batched point clouds (PyTorch3D's knn_points semantics).
//
//   knn_points_idx(p1: (N, P1, D), p2: (N, P2, D), lengths1: (N,) int64, lengths2: (N,) int64, K, norm)
//       -> dists: (N, P1, K), idx: (N, P1, K) int64
//     For query i < lengths1[n]: the min(K, lengths2[n]) points j < lengths2[n] of p2[n] closest to p1[n, i],
//     ascending by distance (ties: smaller index first); dists are squared Euclidean for norm=2 and L1 for
//     norm=1. Every other entry is 0 (dists and idx), as in PyTorch3D.
//
// D <= 3 uses a uniform grid built per cloud (cells hold ~K/3 points, at least 2; clouds on a surface get smaller
// cells, see build_grid), so the cost grows with the points near each query, not with P2. The CUDA kernel searches
// cell shells outward per query and stops once the K-th best distance is below the distance to any unsearched cell
// (grid_search). The CPU kernel takes queries in cell order: the 3 x 3 x 3 block of cells around a query's cell is
// gathered once for all its queries, each keeps the block points closer than the nearest block face (nothing
// outside can be closer) and selects the K smallest; a query with fewer than K such points falls back to
// grid_search. On CPU, D > 3 with norm 2 (float, double) runs blocked distance GEMMs with per-query candidate
// buffers whose exact distances decide (knn_cpu_gemm*.cpp); other D > 3 cases scan every point of the cloud (the
// CPU's algorithms: knn_cpu.h). No P1 x P2 matrix ever exists and K may be in the thousands. Parallel over queries of all clouds together. Distances accumulate in
// float32 (float64 for float64 input).
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/macros/Macros.h>

#include <algorithm>
#include <cstdint>

#include "../../common/checks.h"

namespace mg {
namespace knn {

// The grid of every cloud of p2 (all tensors on p2's device).
struct Grid {
  at::Tensor pts;         // (T, 3) acc_t: the valid points of all clouds, sorted by (cloud, cell)
  at::Tensor point_idx;   // (T,) int64: index j of each sorted point within its cloud
  at::Tensor cell_start;  // (C + 1,) int64: sorted points of global cell c are [cell_start[c], cell_start[c+1])
  at::Tensor params;      // (N, 8) acc_t: origin xyz, cell size, dims xyz (as floats), first cell (as float)
};

// Checks shared by the CPU and CUDA kernels (knn and ball query): devices, dtypes and shapes of every argument.
// lengths values are not checked: every kernel clamps them into [0, P] (clamped_lengths).
inline void check_knn_inputs(const at::Tensor& p1, const at::Tensor& p2, const at::Tensor& lengths1,
                             const at::Tensor& lengths2, int64_t K, int64_t norm) {
  TORCH_CHECK(p1.dim() == 3 && p2.dim() == 3, "p1 and p2 must be 3-D (N, P, D)");
  MG_CHECK_SAME_DEVICE(p1, p2);
  MG_CHECK_FLOATING(p1);
  MG_CHECK_SAME_DTYPE(p1, p2);
  TORCH_CHECK(p1.size(0) == p2.size(0) && p1.size(2) == p2.size(2), "p1 and p2 must share N and D");
  check_lengths(lengths1, p1.size(0), p1, "lengths1");
  check_lengths(lengths2, p2.size(0), p2, "lengths2");
  TORCH_CHECK(K >= 1, "K must be >= 1");
  TORCH_CHECK(norm == 1 || norm == 2, "norm must be 1 or 2");
}

// Accumulation type of point kernels: float64 for float64 input, float32 otherwise.
inline at::ScalarType point_acc_type(const at::Tensor& points) {
  return points.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
}

// lengths as contiguous int64 clamped into [0, P]: the kernels never index past a cloud.
inline at::Tensor clamped_lengths(const at::Tensor& lengths, int64_t P) {
  return lengths.to(at::kLong).clamp(0, P).contiguous();
}

// Built with ATen ops, so it runs on the points' device. D must be <= 3 (missing coordinates are 0).
// per_cell: the average number of points per occupied volume cell the grid aims for. A cloud whose occupied cells
// hold more than twice that on average (points on a surface or a curve) gets its cells shrunk once by the square
// root of the excess, within the limit of ~4 cells per point.
Grid build_grid(const at::Tensor& p2, const at::Tensor& lengths2, at::ScalarType acc_type, double per_cell);

// Grid occupancy for K neighbours (K/3 points per cell, measured best on W2/W8): the 27 cells around a query then
// usually hold the K nearest, so the search stops after the first shell.
inline double cell_occupancy(int64_t K) { return std::min(32.0, std::max(2.0, static_cast<double>(K) / 3.0)); }

// ---------------------------------------------------------------------- top-K max-heap in an output row

template <typename acc_t>
C10_HOST_DEVICE inline bool heap_less(acc_t da, int64_t ia, acc_t db, int64_t ib) {
  return da < db || (da == db && ia < ib);
}

// Offer (d, j) to a max-heap of capacity K holding `size` entries.
template <typename acc_t>
C10_HOST_DEVICE inline void heap_offer(acc_t* hd, int64_t* hi, int64_t& size, int64_t K, acc_t d, int64_t j) {
  if (size < K) {
    int64_t c = size++;
    while (c > 0) {  // sift up
      const int64_t p = (c - 1) / 2;
      if (!heap_less(hd[p], hi[p], d, j)) break;
      hd[c] = hd[p];
      hi[c] = hi[p];
      c = p;
    }
    hd[c] = d;
    hi[c] = j;
    return;
  }
  if (!heap_less(d, j, hd[0], hi[0])) return;
  int64_t c = 0;  // replace the root, sift down
  while (true) {
    const int64_t l = 2 * c + 1, r = l + 1;
    int64_t m = c;
    acc_t md = d;
    int64_t mi = j;
    if (l < size && heap_less(md, mi, hd[l], hi[l])) { m = l; md = hd[l]; mi = hi[l]; }
    if (r < size && heap_less(md, mi, hd[r], hi[r])) { m = r; md = hd[r]; mi = hi[r]; }
    if (m == c) break;
    hd[c] = hd[m];
    hi[c] = hi[m];
    c = m;
  }
  hd[c] = d;
  hi[c] = j;
}

// Sort a max-heap ascending in place (heap sort).
template <typename acc_t>
C10_HOST_DEVICE inline void heap_sort(acc_t* hd, int64_t* hi, int64_t size) {
  for (int64_t end = size - 1; end > 0; --end) {
    const acc_t td = hd[0];
    const int64_t ti = hi[0];
    hd[0] = hd[end];
    hi[0] = hi[end];
    hd[end] = td;
    hi[end] = ti;
    int64_t c = 0;
    while (true) {
      const int64_t l = 2 * c + 1, r = l + 1;
      int64_t m = c;
      if (l < end && heap_less(hd[m], hi[m], hd[l], hi[l])) m = l;
      if (r < end && heap_less(hd[m], hi[m], hd[r], hi[r])) m = r;
      if (m == c) break;
      const acc_t sd = hd[c];
      const int64_t si = hi[c];
      hd[c] = hd[m];
      hi[c] = hi[m];
      hd[m] = sd;
      hi[m] = si;
      c = m;
    }
  }
}

template <typename acc_t>
C10_HOST_DEVICE inline acc_t point_distance(const acc_t* q, const acc_t* p, int norm) {
  acc_t s = 0;
  for (int a = 0; a < 3; ++a) {
    const acc_t d = q[a] - p[a];
    s += norm == 1 ? (d < 0 ? -d : d) : d * d;
  }
  return s;
}

// The cell of coordinate x along axis a of a cloud's grid (params as in Grid), clamped into the grid. The clamp
// happens in floating point before converting: far queries would overflow int64.
template <typename acc_t>
C10_HOST_DEVICE inline int64_t clamped_cell(acc_t x, const acc_t* params, int a) {
  const int64_t dim = static_cast<int64_t>(params[4 + a]);
  const acc_t rel = (x - params[a]) / params[3];
  return !(rel >= 0) ? 0 : (rel >= static_cast<acc_t>(dim - 1) ? dim - 1 : static_cast<int64_t>(rel));
}

// Grid search for one query q (3 coords) in cloud n. Leaves the heap (hd, hi, size) unsorted.
template <typename acc_t>
C10_HOST_DEVICE inline void grid_search(const acc_t* q, const acc_t* params, const acc_t* pts, const int64_t* point_idx,
                                        const int64_t* cell_start, int64_t K, int norm, acc_t* hd, int64_t* hi,
                                        int64_t& size) {
  const acc_t s = params[3];
  const int64_t dims[3] = {static_cast<int64_t>(params[4]), static_cast<int64_t>(params[5]),
                           static_cast<int64_t>(params[6])};
  const int64_t first_cell = static_cast<int64_t>(params[7]);
  int64_t c[3];
  for (int a = 0; a < 3; ++a) c[a] = clamped_cell(q[a], params, a);
  const int64_t max_r = dims[0] > dims[1] ? (dims[0] > dims[2] ? dims[0] : dims[2]) : (dims[1] > dims[2] ? dims[1] : dims[2]);
  // Lower bound of the distance from q to cell (x, y, z).
  const auto cell_bound = [&](int64_t x, int64_t y, int64_t z) {
    const int64_t cc[3] = {x, y, z};
    acc_t bound = 0;
    for (int a = 0; a < 3; ++a) {
      const acc_t lo = params[a] + static_cast<acc_t>(cc[a]) * s;
      const acc_t d = q[a] < lo ? lo - q[a] : (q[a] > lo + s ? q[a] - lo - s : acc_t(0));
      bound += norm == 1 ? d : d * d;
    }
    return bound;
  };
  const auto scan_cell = [&](int64_t x, int64_t y, int64_t z) {
    const int64_t cell = first_cell + (x * dims[1] + y) * dims[2] + z;
    for (int64_t t = cell_start[cell]; t < cell_start[cell + 1]; ++t) {
      heap_offer(hd, hi, size, K, point_distance(q, pts + 3 * t, norm), point_idx[t]);
    }
  };
  // Calls fn(x, y, z) for the in-grid cells of the shell at Chebyshev distance r around c.
  const auto for_shell = [&](int64_t r, auto&& fn) {
    for (int64_t x = c[0] - r; x <= c[0] + r; ++x) {
      if (x < 0 || x >= dims[0]) continue;
      const bool x_face = x == c[0] - r || x == c[0] + r;
      for (int64_t y = c[1] - r; y <= c[1] + r; ++y) {
        if (y < 0 || y >= dims[1]) continue;
        const bool xy_face = x_face || y == c[1] - r || y == c[1] + r;
        const int64_t step = xy_face ? 1 : (r > 0 ? 2 * r : 1);  // interior columns: only the two z faces
        for (int64_t z = c[2] - r; z <= c[2] + r; z += step) {
          if (z >= 0 && z < dims[2]) fn(x, y, z);
        }
      }
    }
  };
  constexpr int kOrderedShell = 26;  // cells of the shell r = 1
  for (int64_t r = 0; r <= max_r; ++r) {
    if (r == 1) {
      // The first shell in order of its cells' lower bounds: the heap fills with the nearest points first, and once
      // it is full the first cell whose bound exceeds the K-th distance ends the shell.
      acc_t sb[kOrderedShell];
      int64_t sx[kOrderedShell], sy[kOrderedShell], sz[kOrderedShell];
      int n = 0;
      for_shell(r, [&](int64_t x, int64_t y, int64_t z) {
        const acc_t b = cell_bound(x, y, z);
        int i = n++;
        while (i > 0 && sb[i - 1] > b) {  // insertion sort by bound
          sb[i] = sb[i - 1];
          sx[i] = sx[i - 1];
          sy[i] = sy[i - 1];
          sz[i] = sz[i - 1];
          --i;
        }
        sb[i] = b;
        sx[i] = x;
        sy[i] = y;
        sz[i] = z;
      });
      for (int i = 0; i < n; ++i) {
        if (size == K && sb[i] > hd[0]) break;
        scan_cell(sx[i], sy[i], sz[i]);
      }
    } else {
      for_shell(r, [&](int64_t x, int64_t y, int64_t z) {
        // skip a cell that cannot hold anything closer than the current K-th best
        if (size == K && cell_bound(x, y, z) > hd[0]) return;
        scan_cell(x, y, z);
      });
    }
    // Every unsearched point lies outside the block of cells within r of c: at least `gap` away on some axis.
    acc_t gap = -1;
    bool more = false;
    for (int a = 0; a < 3; ++a) {
      if (c[a] - r > 0) {
        const acc_t g = q[a] - (params[a] + static_cast<acc_t>(c[a] - r) * s);
        gap = (gap < 0 || g < gap) ? g : gap;
        more = true;
      }
      if (c[a] + r + 1 < dims[a]) {
        const acc_t g = (params[a] + static_cast<acc_t>(c[a] + r + 1) * s) - q[a];
        gap = (gap < 0 || g < gap) ? g : gap;
        more = true;
      }
    }
    if (!more) break;
    if (size == K) {
      const acc_t bound = gap < 0 ? acc_t(0) : (norm == 1 ? gap : gap * gap);
      if (hd[0] < bound) break;  // strict: a point at exactly `bound` could still win a tie
    }
  }
}

// Query row t = n * P1 + i of the grid path (both backends' per-query shell search): q1 holds the queries as
// (N, P1, D) acc_t, params / pts / point_idx / cell_start the Grid. Writes the row's min(K, l2[n]) neighbours
// ascending into dists / idx + t * K; padded queries are left alone.
template <typename acc_t>
C10_HOST_DEVICE inline void grid_knn_row(int64_t t, const acc_t* q1, int64_t P1, int64_t D, const int64_t* l1,
                                         const int64_t* l2, const acc_t* params, const acc_t* pts,
                                         const int64_t* point_idx, const int64_t* cell_start, int64_t K, int norm,
                                         acc_t* dists, int64_t* idx) {
  const int64_t n = t / P1, i = t - n * P1;
  const int64_t Keff = K < l2[n] ? K : l2[n];
  if (i >= l1[n] || Keff == 0) return;
  acc_t q[3] = {0, 0, 0};
  for (int64_t a = 0; a < D; ++a) q[a] = q1[t * D + a];
  int64_t size = 0;
  grid_search(q, params + 8 * n, pts, point_idx, cell_start, Keff, norm, dists + t * K, idx + t * K, size);
  heap_sort(dists + t * K, idx + t * K, size);
}

}  // namespace knn
}  // namespace mg
