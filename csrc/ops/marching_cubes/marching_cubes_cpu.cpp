// CPU kernel for marching_cubes (contract in marching_cubes.h). Parallel over layers of cells; the counting pass
// runs the even layers, then the odd ones, so that no two threads mark the flags of one grid point (a layer touches
// the sample layers z and z + 1). Offsets come from scans of per-row counts, so the output does not depend on the
// number of threads.
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <torch/library.h>

#include <algorithm>
#include <atomic>
#include <tuple>
#include <vector>

#include "../../common/dispatch.h"
#include "marching_cubes.h"

namespace mg {
namespace mcubes {
namespace {

// The cases of the W - 1 cells of the row (n, z, y), reading each of the four sample rows once: col[x] holds the
// below-isolevel bits of the samples (x, y + dy, z + dz) at corner bit 2 dy + 4 dz (dx = 0); cell x ORs col[x]
// with col[x + 1] shifted onto dx = 1.
// Returns false when a sample is not finite.
template <typename scalar_t, typename acc>
bool row_cases(const scalar_t* v, const Grid& g, int64_t n, int64_t z, int64_t y, acc iso, uint8_t* col,
               uint8_t* cases) {
  const scalar_t* r[4] = {v + g.point(n, z, y, 0), v + g.point(n, z, y + 1, 0), v + g.point(n, z + 1, y, 0),
                          v + g.point(n, z + 1, y + 1, 0)};
  int ok = 1;
  for (int64_t x = 0; x < g.W; ++x) {
    const acc a0 = static_cast<acc>(r[0][x]), a1 = static_cast<acc>(r[1][x]);
    const acc a2 = static_cast<acc>(r[2][x]), a3 = static_cast<acc>(r[3][x]);
    ok &= int(finite_(a0)) & int(finite_(a1)) & int(finite_(a2)) & int(finite_(a3));  // branch-free
    col[x] = uint8_t(int(a0 < iso) | (int(a1 < iso) << 2) | (int(a2 < iso) << 4) | (int(a3 < iso) << 6));
  }
  for (int64_t x = 0; x + 1 < g.W; ++x) cases[x] = uint8_t(col[x] | (col[x + 1] << 1));
  return ok != 0;
}

template <typename scalar_t>
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> run(const at::Tensor& vol_in, const at::Tensor& iso_in) {
  using acc = mg::acc_t<scalar_t>;
  const Operands<acc> in = operands<acc>(vol_in, iso_in);
  if (!in.has_cells) return in.empty();
  const scalar_t* v = in.vol.template const_data_ptr<scalar_t>();
  const acc* iso = in.iso.template const_data_ptr<acc>();
  const int64_t layers = in.g.N * (in.g.D - 1), rows = layers * (in.g.H - 1), P = in.g.N * in.g.points_per_volume();
  at::Tensor flags_t = at::zeros({P}, in.vol.options().dtype(at::kByte));
  uint8_t* flags = flags_t.mutable_data_ptr<uint8_t>();
  std::vector<int64_t> row_faces(rows + 1, 0);
  std::atomic<bool> nonfinite{false};
  // grains of about kGrainCells cells / samples: small volumes run on one thread (a parallel region costs more)
  constexpr int64_t kGrainCells = 32768;
  const int64_t layer_grain = std::max<int64_t>(1, kGrainCells / ((in.g.H - 1) * (in.g.W - 1)));
  const int64_t row_grain = std::max<int64_t>(1, kGrainCells / in.g.W);

  // 1. count and mark, even layers then odd ones
  for (int parity = 0; parity < 2; ++parity) {
    const int64_t half = (in.g.D - 1 - parity + 1) / 2;  // layers z = parity, parity + 2, ... < D - 1
    at::parallel_for(0, in.g.N * half, layer_grain, [&](int64_t lo, int64_t hi) {
      acc vals[8];
      int64_t tri[kMaxTriangles][3];
      std::vector<uint8_t> col(in.g.W), cases(in.g.W);
      for (int64_t l = lo; l < hi; ++l) {
        const int64_t n = l / half, z = parity + 2 * (l % half);
        const acc level = iso[n];
        bool bad = false;
        for (int64_t y = 0; y < in.g.H - 1; ++y) {
          int64_t count = 0;
          bad |= !row_cases<scalar_t, acc>(v, in.g, n, z, y, level, col.data(), cases.data());
          for (int64_t x = 0; x < in.g.W - 1; ++x) {
            if (num_triangles(cases[x]) == 0) continue;
            int cube;
            load_cell<scalar_t, acc>(v, in.g, n, z, y, x, level, vals, cube);
            const int nt = cell_triangles<acc>(in.g, n, z, y, x, vals, level, cube, tri);
            for (int t = 0; t < nt; ++t)
              for (int j = 0; j < 3; ++j) flags[tri[t][j] >> 2] |= uint8_t(1u << (tri[t][j] & 3));
            count += nt;
          }
          row_faces[(n * (in.g.D - 1) + z) * (in.g.H - 1) + y + 1] = count;
        }
        if (bad) nonfinite.store(true, std::memory_order_relaxed);
      }
    });
  }
  TORCH_CHECK(!nonfinite.load(), "marching_cubes: vol_batch contains NaN or infinite values");

  // 2. scans: faces per row of cells; used keys per grid point (two levels: rows of samples, then within a row)
  for (int64_t r = 0; r < rows; ++r) row_faces[r + 1] += row_faces[r];
  const int64_t F = row_faces[rows];
  const int64_t prow = in.g.N * in.g.D * in.g.H;
  std::vector<int64_t> row_verts(prow + 1, 0);
  at::parallel_for(0, prow, row_grain, [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      int64_t c = 0;
      for (int64_t x = 0; x < in.g.W; ++x) c += popcount4(flags[r * in.g.W + x]);
      row_verts[r + 1] = c;
    }
  });
  for (int64_t r = 0; r < prow; ++r) row_verts[r + 1] += row_verts[r];
  const int64_t V = row_verts[prow];
  at::Tensor vbase_t = at::empty({P}, in.iopt);
  int64_t* vbase = vbase_t.mutable_data_ptr<int64_t>();
  at::parallel_for(0, prow, row_grain, [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      int64_t c = row_verts[r];
      for (int64_t x = 0; x < in.g.W; ++x) {
        vbase[r * in.g.W + x] = c;
        c += popcount4(flags[r * in.g.W + x]);
      }
    }
  });

  // 3. outputs
  at::Tensor verts = at::empty({V, 3}, in.vopt), faces = at::empty({F, 3}, in.iopt);
  at::Tensor vpv = at::empty({in.g.N}, in.iopt), fpv = at::empty({in.g.N}, in.iopt);
  acc* vp = verts.mutable_data_ptr<acc>();
  int64_t* fp = faces.mutable_data_ptr<int64_t>();
  for (int64_t n = 0; n < in.g.N; ++n) {
    const int64_t per_rows = (in.g.D - 1) * (in.g.H - 1), per_prow = in.g.D * in.g.H;
    fpv.mutable_data_ptr<int64_t>()[n] = row_faces[(n + 1) * per_rows] - row_faces[n * per_rows];
    vpv.mutable_data_ptr<int64_t>()[n] = row_verts[(n + 1) * per_prow] - row_verts[n * per_prow];
  }

  // 4. emit faces (rows of cells) and vertices (rows of samples)
  at::parallel_for(0, rows, row_grain, [&](int64_t lo, int64_t hi) {
    acc vals[8];
    int64_t tri[kMaxTriangles][3];
    std::vector<uint8_t> col(in.g.W), cases(in.g.W);
    for (int64_t r = lo; r < hi; ++r) {
      if (row_faces[r + 1] == row_faces[r]) continue;
      const int64_t y = r % (in.g.H - 1), z = (r / (in.g.H - 1)) % (in.g.D - 1), n = r / ((in.g.H - 1) * (in.g.D - 1));
      const acc level = iso[n];
      const int64_t first = row_verts[n * in.g.D * in.g.H];
      int64_t o = row_faces[r];
      row_cases<scalar_t, acc>(v, in.g, n, z, y, level, col.data(), cases.data());
      for (int64_t x = 0; x < in.g.W - 1; ++x) {
        if (num_triangles(cases[x]) == 0) continue;
        int cube;
        load_cell<scalar_t, acc>(v, in.g, n, z, y, x, level, vals, cube);
        const int nt = cell_triangles<acc>(in.g, n, z, y, x, vals, level, cube, tri);
        for (int t = 0; t < nt; ++t, ++o) {
          for (int j = 0; j < 3; ++j) {
            const int64_t G = tri[t][j] >> 2;
            fp[3 * o + j] = vbase[G] + slot_rank(flags[G], int(tri[t][j] & 3)) - first;
          }
        }
      }
      TORCH_CHECK(o == row_faces[r + 1], "marching_cubes: internal error (face count)");
    }
  });
  at::parallel_for(0, prow, row_grain, [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const int64_t y = r % in.g.H, z = (r / in.g.H) % in.g.D, n = r / (in.g.H * in.g.D);
      const acc level = iso[n];
      for (int64_t x = 0; x < in.g.W; ++x) {
        const int64_t G = r * in.g.W + x;
        const uint8_t f = flags[G];
        if (f == 0) continue;
        int64_t o = vbase[G];
        for (int slot = 0; slot < 4; ++slot) {
          if (!(f >> slot & 1)) continue;
          key_position<scalar_t, acc>(v, in.g, z, y, x, G, slot, level, vp + 3 * o);
          ++o;
        }
      }
    }
  });
  return {verts, faces, vpv, fpv};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> marching_cubes_cpu(const at::Tensor& vol,
                                                                             const at::Tensor& isolevel) {
  check_inputs(vol, isolevel);
  TORCH_CHECK(vol.device().is_cpu(), "marching_cubes_cpu: vol_batch must be a CPU tensor, got ", vol.device());
  return MG_DISPATCH_FLOATING_TYPES(vol.scalar_type(), "marching_cubes_cpu", [&] { return run<scalar_t>(vol, isolevel); });
}

}  // namespace
}  // namespace mcubes
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CPU, m) { m.impl("marching_cubes", &mg::mcubes::marching_cubes_cpu); }
