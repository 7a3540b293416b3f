// CUDA kernel for marching_cubes (contract in marching_cubes.h): one thread per cell counts its triangles and
// marks the keys they use (integer atomicOr on the flag bytes, order-independent), exclusive scans (at::cumsum) give
// every face and vertex its slot, one host read of [faces, verts, non-finite] sizes the outputs (the only device
// sync), then one thread per cell emits faces and one thread per sample emits vertices. Deterministic.
#include <ATen/Dispatch.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/cumsum.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include <tuple>

#include "../../common/cuda_utils.cuh"
#include "../../common/dispatch.h"
#include "marching_cubes.h"

namespace mg {
namespace mcubes {
namespace {

__device__ inline void set_flag(unsigned int* words, int64_t G, int slot) {
  atomicOr(words + (G >> 2), 1u << (8 * (G & 3) + slot));  // little-endian byte G of the flag words
}

__device__ inline void cell_coords(const Grid& g, int64_t c, int64_t& n, int64_t& z, int64_t& y, int64_t& x) {
  x = c % (g.W - 1);
  y = (c / (g.W - 1)) % (g.H - 1);
  z = (c / ((g.W - 1) * (g.H - 1))) % (g.D - 1);
  n = c / g.cells_per_volume();
}

template <typename scalar_t, typename acc>
__global__ void count_kernel(const scalar_t* __restrict__ v, const acc* __restrict__ iso, Grid g, int64_t cells,
                             int32_t* __restrict__ counts, unsigned int* __restrict__ flags, int32_t* nonfinite) {
  MG_CUDA_KERNEL_LOOP(c, cells) {
    int64_t n, z, y, x;
    cell_coords(g, c, n, z, y, x);
    acc vals[8];
    int64_t tri[kMaxTriangles][3];
    int cube;
    const acc level = iso[n];
    if (!load_cell<scalar_t, acc>(v, g, n, z, y, x, level, vals, cube)) *nonfinite = 1;
    const int nt = cell_triangles<acc>(g, n, z, y, x, vals, level, cube, tri);
    for (int t = 0; t < nt; ++t)
      for (int j = 0; j < 3; ++j) set_flag(flags, tri[t][j] >> 2, int(tri[t][j] & 3));
    counts[c] = nt;
  }
}

__global__ void popcount_kernel(const uint8_t* __restrict__ flags, int64_t P, int32_t* __restrict__ counts) {
  MG_CUDA_KERNEL_LOOP(G, P) { counts[G] = popcount4(flags[G]); }
}

template <typename scalar_t, typename acc>
__global__ void faces_kernel(const scalar_t* __restrict__ v, const acc* __restrict__ iso, Grid g, int64_t cells,
                             const int32_t* __restrict__ counts, const int64_t* __restrict__ face_incl,
                             const uint8_t* __restrict__ flags, const int32_t* __restrict__ vcounts,
                             const int64_t* __restrict__ vert_incl, int64_t F, int64_t* __restrict__ faces) {
  MG_CUDA_KERNEL_LOOP(c, cells) {
    if (counts[c] == 0) continue;
    int64_t n, z, y, x;
    cell_coords(g, c, n, z, y, x);
    acc vals[8];
    int64_t tri[kMaxTriangles][3];
    int cube;
    const acc level = iso[n];
    load_cell<scalar_t, acc>(v, g, n, z, y, x, level, vals, cube);
    const int nt = cell_triangles<acc>(g, n, z, y, x, vals, level, cube, tri);
    const int64_t P0 = g.point(n, 0, 0, 0);
    const int64_t first = vert_incl[P0] - vcounts[P0];  // vertices of the volumes before n
    int64_t o = face_incl[c] - counts[c];
    for (int t = 0; t < nt && o < F; ++t, ++o) {
      for (int j = 0; j < 3; ++j) {
        const int64_t G = tri[t][j] >> 2;
        faces[3 * o + j] = vert_incl[G] - vcounts[G] + slot_rank(flags[G], int(tri[t][j] & 3)) - first;
      }
    }
  }
}

template <typename scalar_t, typename acc>
__global__ void verts_kernel(const scalar_t* __restrict__ v, const acc* __restrict__ iso, Grid g, int64_t P,
                             const uint8_t* __restrict__ flags, const int32_t* __restrict__ vcounts,
                             const int64_t* __restrict__ vert_incl, int64_t V, acc* __restrict__ verts) {
  MG_CUDA_KERNEL_LOOP(G, P) {
    const uint8_t f = flags[G];
    if (f == 0) continue;
    const int64_t x = G % g.W, y = (G / g.W) % g.H, z = (G / (g.W * g.H)) % g.D, n = G / g.points_per_volume();
    int64_t o = vert_incl[G] - vcounts[G];
    for (int slot = 0; slot < 4 && o < V; ++slot) {
      if (!(f >> slot & 1)) continue;
      key_position<scalar_t, acc>(v, g, z, y, x, G, slot, iso[n], verts + 3 * o);
      ++o;
    }
  }
}

template <typename scalar_t>
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> run(const at::Tensor& vol_in, const at::Tensor& iso_in) {
  using acc = mg::acc_t<scalar_t>;
  const Operands<acc> in = operands<acc>(vol_in, iso_in);
  if (!in.has_cells) return in.empty();
  const auto stream = c10::cuda::getCurrentCUDAStream();
  const int64_t cells = in.g.N * in.g.cells_per_volume(), P = in.g.N * in.g.points_per_volume();
  const scalar_t* v = in.vol.template const_data_ptr<scalar_t>();
  const acc* iso = in.iso.template const_data_ptr<acc>();
  at::Tensor counts = at::empty({cells}, in.vol.options().dtype(at::kInt));
  at::Tensor flags = at::zeros({(P + 3) / 4}, in.vol.options().dtype(at::kInt));  // P flag bytes, word-aligned
  at::Tensor nonfinite = at::zeros({1}, in.vol.options().dtype(at::kInt));
  count_kernel<scalar_t, acc><<<cuda::num_blocks(cells), cuda::kThreads, 0, stream>>>(
      v, iso, in.g, cells, counts.mutable_data_ptr<int32_t>(),
      reinterpret_cast<unsigned int*>(flags.mutable_data_ptr<int32_t>()), nonfinite.mutable_data_ptr<int32_t>());
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  const uint8_t* fl = reinterpret_cast<const uint8_t*>(flags.const_data_ptr<int32_t>());
  at::Tensor vcounts = at::empty({P}, in.vol.options().dtype(at::kInt));
  popcount_kernel<<<cuda::num_blocks(P), cuda::kThreads, 0, stream>>>(fl, P, vcounts.mutable_data_ptr<int32_t>());
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  const at::Tensor face_incl = at::cumsum(counts, 0, at::kLong), vert_incl = at::cumsum(vcounts, 0, at::kLong);
  // the one device sync: the output sizes and the non-finite flag, in one copy
  const at::Tensor totals =
      at::cat({face_incl.slice(0, cells - 1), vert_incl.slice(0, P - 1), nonfinite.to(at::kLong)}).cpu();
  const int64_t* tp = totals.const_data_ptr<int64_t>();
  TORCH_CHECK(tp[2] == 0, "marching_cubes: vol_batch contains NaN or infinite values");
  const int64_t F = tp[0], V = tp[1];
  at::Tensor verts = at::empty({V, 3}, in.vopt), faces = at::empty({F, 3}, in.iopt);
  faces_kernel<scalar_t, acc><<<cuda::num_blocks(cells), cuda::kThreads, 0, stream>>>(
      v, iso, in.g, cells, counts.const_data_ptr<int32_t>(), face_incl.const_data_ptr<int64_t>(), fl,
      vcounts.const_data_ptr<int32_t>(), vert_incl.const_data_ptr<int64_t>(), F, faces.mutable_data_ptr<int64_t>());
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  verts_kernel<scalar_t, acc><<<cuda::num_blocks(P), cuda::kThreads, 0, stream>>>(
      v, iso, in.g, P, fl, vcounts.const_data_ptr<int32_t>(), vert_incl.const_data_ptr<int64_t>(), V,
      verts.mutable_data_ptr<acc>());
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  // per-volume counts from the inclusive scans at the volumes' ends (device side, no sync)
  const int64_t cpv = in.g.cells_per_volume(), ppv = in.g.points_per_volume();
  const at::Tensor face_ends = face_incl.view({in.g.N, cpv}).select(1, cpv - 1);
  const at::Tensor vert_ends = vert_incl.view({in.g.N, ppv}).select(1, ppv - 1);
  const at::Tensor zero = at::zeros({1}, in.iopt);
  const at::Tensor fpv = face_ends.sub(at::cat({zero, face_ends.slice(0, 0, in.g.N - 1)}));
  const at::Tensor vpv = vert_ends.sub(at::cat({zero, vert_ends.slice(0, 0, in.g.N - 1)}));
  return {verts, faces, vpv, fpv};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> marching_cubes_cuda(const at::Tensor& vol,
                                                                              const at::Tensor& isolevel) {
  check_inputs(vol, isolevel);
  TORCH_CHECK(vol.is_cuda(), "marching_cubes_cuda: vol_batch must be a CUDA tensor");
  const c10::cuda::CUDAGuard guard(vol.device());
  return MG_DISPATCH_FLOATING_TYPES(vol.scalar_type(), "marching_cubes_cuda", [&] { return run<scalar_t>(vol, isolevel); });
}

}  // namespace
}  // namespace mcubes
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CUDA, m) { m.impl("marching_cubes", &mg::mcubes::marching_cubes_cuda); }
