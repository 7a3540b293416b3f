// CPU kernel for point_face_distance_idx (contract in point_face_distance.h): per batch element a uniform grid
// over the targets; every query searches growing shells of cells and stops once the unsearched space is provably
// farther than its best candidate.
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/full.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>
#include <vector>

#include "point_face_distance.h"

namespace mg {
namespace pfd {
namespace {

// Targets with boxes [lo, hi] in a uniform grid (cells hold target ids, a target in every cell its box meets).
template <typename T>
struct Grid {
  T origin[3] = {0, 0, 0};
  T s = 1;
  int64_t dims[3] = {1, 1, 1};
  std::vector<int64_t> start, items;

  int64_t cell_of(T v, int a) const {
    const T rel = (v - origin[a]) / s;
    if (!(rel >= 0)) return 0;
    const int64_t c = static_cast<int64_t>(rel);
    return c >= dims[a] ? dims[a] - 1 : c;
  }

  void build(const std::vector<T>& lo, const std::vector<T>& hi, int64_t count) {
    T gmin[3], gmax[3];
    T mean_ext = 0;
    for (int a = 0; a < 3; ++a) {
      gmin[a] = std::numeric_limits<T>::infinity();
      gmax[a] = -std::numeric_limits<T>::infinity();
    }
    for (int64_t i = 0; i < count; ++i)
      for (int a = 0; a < 3; ++a) {
        gmin[a] = std::min(gmin[a], lo[3 * i + a]);
        gmax[a] = std::max(gmax[a], hi[3 * i + a]);
        mean_ext += (hi[3 * i + a] - lo[3 * i + a]) / 3;
      }
    mean_ext /= static_cast<T>(std::max<int64_t>(count, 1));
    T extent = 0, vol = 1;
    int nd = 0;
    for (int a = 0; a < 3; ++a) {
      origin[a] = gmin[a];
      const T e = gmax[a] - gmin[a];
      extent = std::max(extent, e);
    }
    for (int a = 0; a < 3; ++a) {
      const T e = gmax[a] - gmin[a];
      if (e > extent * T(1e-6)) {
        vol *= e;
        ++nd;
      }
    }
    T cell = nd > 0 ? std::pow(vol / static_cast<T>(std::max<int64_t>(count, 1)), T(1) / nd) : T(1);
    cell = std::max(cell, mean_ext);
    if (!(cell > 0) || !std::isfinite(cell)) cell = extent > 0 ? extent : T(1);
    int64_t total = 0;
    while (true) {
      total = 1;
      for (int a = 0; a < 3; ++a) {
        const T e = gmax[a] - gmin[a];
        dims[a] = std::min<int64_t>(std::max<int64_t>(static_cast<int64_t>(e / cell) + 1, 1), 256);
        total *= dims[a];
      }
      if (total <= 4 * count + 64) break;
      cell *= T(1.26);
    }
    s = cell;
    start.assign(static_cast<size_t>(total + 1), 0);
    const auto each_cell = [&](int64_t i, auto&& fn) {
      const int64_t x0 = cell_of(lo[3 * i], 0), x1 = cell_of(hi[3 * i], 0);
      const int64_t y0 = cell_of(lo[3 * i + 1], 1), y1 = cell_of(hi[3 * i + 1], 1);
      const int64_t z0 = cell_of(lo[3 * i + 2], 2), z1 = cell_of(hi[3 * i + 2], 2);
      for (int64_t x = x0; x <= x1; ++x)
        for (int64_t y = y0; y <= y1; ++y)
          for (int64_t z = z0; z <= z1; ++z) fn((x * dims[1] + y) * dims[2] + z);
    };
    for (int64_t i = 0; i < count; ++i) each_cell(i, [&](int64_t c) { ++start[c + 1]; });
    for (int64_t c = 0; c < total; ++c) start[c + 1] += start[c];
    items.assign(static_cast<size_t>(start[total]), 0);
    std::vector<int64_t> cur(start.begin(), start.end() - 1);
    for (int64_t i = 0; i < count; ++i) each_cell(i, [&](int64_t c) { items[cur[c]++] = i; });
  }

  // Closest target to the query box [qlo, qhi]: dist(i) gives the exact squared distance, bound(i) a lower bound.
  template <typename Dist, typename Bound>
  int64_t search(const T* qlo, const T* qhi, Dist&& dist, Bound&& bound) const {
    int64_t c0[3], c1[3];
    for (int a = 0; a < 3; ++a) {
      c0[a] = cell_of(qlo[a], a);
      c1[a] = cell_of(qhi[a], a);
    }
    T best = std::numeric_limits<T>::infinity();
    int64_t best_i = -1;
    for (int64_t r = 0;; ++r) {
      int64_t lo[3], hi[3];
      bool covers_all = true;
      for (int a = 0; a < 3; ++a) {
        lo[a] = c0[a] - r;
        hi[a] = c1[a] + r;
        covers_all = covers_all && lo[a] <= 0 && hi[a] >= dims[a] - 1;
      }
      for (int64_t x = std::max<int64_t>(lo[0], 0); x <= std::min(hi[0], dims[0] - 1); ++x)
        for (int64_t y = std::max<int64_t>(lo[1], 0); y <= std::min(hi[1], dims[1] - 1); ++y)
          for (int64_t z = std::max<int64_t>(lo[2], 0); z <= std::min(hi[2], dims[2] - 1); ++z) {
            const bool shell = x == lo[0] || x == hi[0] || y == lo[1] || y == hi[1] || z == lo[2] || z == hi[2];
            if (r > 0 && !shell) continue;  // inner cells were searched by earlier shells
            const int64_t c = (x * dims[1] + y) * dims[2] + z;
            for (int64_t t = start[c]; t < start[c + 1]; ++t) {
              const int64_t i = items[t];
              if (bound(i) > best) continue;
              const T d = dist(i);
              if (d < best || (d == best && i < best_i)) {
                best = d;
                best_i = i;
              }
            }
          }
      if (covers_all) break;
      // Every target outside the searched cube of cells lies beyond one of its faces (sides at the grid's edge
      // hide no targets): its distance is at least the smallest gap between the query box and those faces.
      T gap = std::numeric_limits<T>::infinity();
      for (int a = 0; a < 3; ++a) {
        if (lo[a] > 0) gap = std::min(gap, qlo[a] - (origin[a] + static_cast<T>(lo[a]) * s));
        if (hi[a] < dims[a] - 1) gap = std::min(gap, origin[a] + static_cast<T>(hi[a] + 1) * s - qhi[a]);
      }
      if (gap > 0 && gap * gap > best) break;
    }
    return best_i;
  }
};

std::tuple<at::Tensor, at::Tensor> point_face_distance_idx_cpu(const at::Tensor& points, const at::Tensor& cloud_first,
                                                               const at::Tensor& cloud_size, const at::Tensor& tris,
                                                               const at::Tensor& mesh_first,
                                                               const at::Tensor& mesh_size) {
  check_inputs(points, cloud_first, cloud_size, tris, mesh_first, mesh_size);
  const int64_t P = points.size(0), F = tris.size(0), N = cloud_first.size(0);
  auto p2f = at::full({P}, -1, points.options().dtype(at::kLong));
  auto f2p = at::full({F}, -1, points.options().dtype(at::kLong));
  // half types compute in float32 (the indices are the only outputs)
  const auto acc_type = points.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  const auto pts = points.to(acc_type).contiguous();
  const auto tri = tris.to(acc_type).contiguous();
  const auto cf = cloud_first.contiguous(), cs = cloud_size.contiguous();
  const auto mf = mesh_first.contiguous(), ms = mesh_size.contiguous();
  AT_DISPATCH_FLOATING_TYPES(pts.scalar_type(), "point_face_distance_idx_cpu", [&] {
    using T = scalar_t;
    const T* pp = pts.const_data_ptr<T>();
    const T* tp = tri.const_data_ptr<T>();
    int64_t* p2fp = p2f.mutable_data_ptr<int64_t>();
    int64_t* f2pp = f2p.mutable_data_ptr<int64_t>();
    for (int64_t n = 0; n < N; ++n) {
      const int64_t p0 = std::max<int64_t>(cf.const_data_ptr<int64_t>()[n], 0);
      const int64_t np = std::max<int64_t>(std::min<int64_t>(cs.const_data_ptr<int64_t>()[n], P - p0), 0);
      const int64_t f0 = std::max<int64_t>(mf.const_data_ptr<int64_t>()[n], 0);
      const int64_t nf = std::max<int64_t>(std::min<int64_t>(ms.const_data_ptr<int64_t>()[n], F - f0), 0);
      if (np == 0 || nf == 0) continue;
      std::vector<T> tlo(3 * nf), thi(3 * nf), plo(pp + 3 * p0, pp + 3 * (p0 + np));
      for (int64_t f = 0; f < nf; ++f) triangle_box(tp + 9 * (f0 + f), &tlo[3 * f], &thi[3 * f]);
      Grid<T> faces_grid, points_grid;
      faces_grid.build(tlo, thi, nf);
      points_grid.build(plo, plo, np);
      at::parallel_for(0, np, 64, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) {
          const T* q = pp + 3 * (p0 + i);
          const int64_t f = faces_grid.search(
              q, q, [&](int64_t j) { return point_triangle_dist2(q, tp + 9 * (f0 + j)); },
              [&](int64_t j) { return point_box_dist2(q, &tlo[3 * j], &thi[3 * j]); });
          p2fp[p0 + i] = f < 0 ? -1 : f0 + f;
        }
      });
      at::parallel_for(0, nf, 64, [&](int64_t lo, int64_t hi) {
        for (int64_t f = lo; f < hi; ++f) {
          const T* t = tp + 9 * (f0 + f);
          const int64_t j = points_grid.search(
              &tlo[3 * f], &thi[3 * f], [&](int64_t i) { return point_triangle_dist2(pp + 3 * (p0 + i), t); },
              [&](int64_t i) { return point_box_dist2(pp + 3 * (p0 + i), &tlo[3 * f], &thi[3 * f]); });
          f2pp[f0 + f] = j < 0 ? -1 : p0 + j;
        }
      });
    }
  });
  return {p2f, f2p};
}

}  // namespace
}  // namespace pfd
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CPU, m) {
  m.impl("point_face_distance_idx", &mg::pfd::point_face_distance_idx_cpu);
}
