// sample_textures_uv: TexturesUV sampling in one pass per rasterized slot: the slot's UV is interpolated from its
// face's three corner UVs with the barycentrics (read through faces_uvs, never copied per face) and the slot's
// image's map is read there, bilinearly or nearest, with grid_sample's padding modes and align_corners (PyTorch3D's
// TexturesUV.sample_textures: interpolate_face_attributes, then grid_sample). No per-slot UV or texel array is
// formed beyond the output.
//
//   sample_textures_uv(pix_to_face (N, H, W, K) int64, bary (N, H, W, K, 3), faces_uvs (F, 3) int64,
//                      verts_uvs (V, 2), maps (N, Hm, Wm, C), mode, padding_mode, align_corners) -> (N, H, W, K, C)
//     slot s of image n: uv = sum_i bary[s, i] * verts_uvs[faces_uvs[f, i]] (f = pix_to_face[s]; uv = (0, 0)
//     where f is outside [0, F): empty slots read the map at UV (0, 0), as PyTorch3D's do), rounded to the
//     inputs' dtype; grid x = lerp(-1, 1, u), y = lerp(1, -1, v) (u right, v up; row 0 of a map is its top);
//     then ATen's grid_sampler_compute_source_index (unnormalize, clip / reflect) and the 4 (bilinear) or 1
//     (nearest, round half to even) texels of maps[n]; texels outside the map read 0 ("zeros" padding).
//     mode: "bilinear" | "nearest"; padding_mode: "zeros" | "border" | "reflection".
//   sample_textures_uv_backward(grad (N, H, W, K, C), same inputs) -> (grad_bary, grad_verts_uvs, grad_maps):
//     grad_maps[n, y, x] += w * grad[s] per texel read (empty slots included, as grid_sample's); the UV gradient
//     of a slot (zero for nearest) goes to its barycentrics (<g_uv, uv_i>) and corner UVs (bary_i * g_uv).
//   Inputs are read in their dtype (bary, verts_uvs and maps share it); every sum is formed in acc_t<scalar_t>
//   (float32 for the half types); outputs come back in that dtype.
//
//   Checked on every backend: devices, dtypes, shapes, modes. On CPU also faces_uvs within [0, V). On CUDA a
//   corner outside [0, V) adds nothing (no device sync to check it). pix_to_face values are never checked: any
//   value outside [0, F) is an empty slot.
//   Determinism: the CPU kernels never use atomics (each output row is summed by one thread, in slot order). The
//   CUDA backward adds grad_verts_uvs and grad_maps with atomicAdd, or, under deterministic algorithms (and on
//   CPU with MESHGRAPH_DEVICE_PATH=1), sums per-slot terms with ATen's index_put_(accumulate=true).
#pragma once

#include <ATen/OpMathType.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <c10/macros/Macros.h>
#include <c10/util/string_view.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <tuple>

#include "../../common/checks.h"
#include "../../common/determinism.h"

namespace mg {
namespace texuv {

enum class Padding : int { Zeros = 0, Border = 1, Reflection = 2 };

inline bool parse_mode(c10::string_view mode) {  // true: bilinear, false: nearest
  TORCH_CHECK(mode == "bilinear" || mode == "nearest", "mode must be 'bilinear' or 'nearest', got '",
              std::string(mode), "'");
  return mode == "bilinear";
}

inline Padding parse_padding(c10::string_view p) {
  TORCH_CHECK(p == "zeros" || p == "border" || p == "reflection",
              "padding_mode must be 'zeros', 'border' or 'reflection', got '", std::string(p), "'");
  return p == "zeros" ? Padding::Zeros : (p == "border" ? Padding::Border : Padding::Reflection);
}

// ---------------------------------------------------------------- ATen's grid_sampler source-index rules
// (GridSampler.h, the formulas its CUDA kernel uses), each with d(out)/d(in) through `grad`.

template <typename T>
C10_HOST_DEVICE inline T clip_coordinate(T in, int64_t size, T* grad) {
  // the clip's gradient is 0 on the border itself (ATen: "borders are considered out of bounds")
  const T hi = static_cast<T>(size - 1);
  if (in <= T(0)) {
    *grad = T(0);
    return T(0);
  }
  if (in >= hi) {
    *grad = T(0);
    return hi;
  }
  *grad = T(1);
  return in;
}

template <typename T>
C10_HOST_DEVICE inline T reflect_coordinate(T in, int64_t twice_low, int64_t twice_high, T* grad) {
  if (twice_low == twice_high) {
    *grad = T(0);
    return T(0);
  }
  const T lo = static_cast<T>(twice_low) / 2;
  const T span = static_cast<T>(twice_high - twice_low) / 2;
  in = in - lo;
  T sign = T(1);
  if (in < T(0)) {
    sign = T(-1);
    in = -in;
  }
  const T extra = ::fmod(in, span);
  const int flips = static_cast<int>(::floor(in / span));
  if (flips % 2 == 0) {
    *grad = sign;
    return extra + lo;
  }
  *grad = -sign;
  return span - extra + lo;
}

// Grid coordinate in [-1, 1] -> texel coordinate (grid_sampler_compute_source_index_set_grad).
template <typename T>
C10_HOST_DEVICE inline T source_index(T coord, int64_t size, Padding padding, bool align_corners, T* grad) {
  T g;
  if (align_corners) {
    g = static_cast<T>(size - 1) / 2;
    coord = ((coord + 1) / 2) * static_cast<T>(size - 1);
  } else {
    g = static_cast<T>(size) / 2;
    coord = ((coord + 1) * static_cast<T>(size) - 1) / 2;
  }
  if (padding == Padding::Border) {
    T gc;
    coord = clip_coordinate(coord, size, &gc);
    g = g * gc;
  } else if (padding == Padding::Reflection) {
    T gr, gc;
    coord = align_corners ? reflect_coordinate(coord, 0, 2 * (size - 1), &gr)
                          : reflect_coordinate(coord, -1, 2 * size - 1, &gr);
    coord = clip_coordinate(coord, size, &gc);
    g = g * gr * gc;
  }
  *grad = g;
  return coord;
}

// torch.lerp(start, end, w) as ATen evaluates it (two formulas split at w = 0.5).
template <typename T>
C10_HOST_DEVICE inline T lerp(T start, T end, T w) {
  return w < T(0.5) ? start + w * (end - start) : end - (end - start) * (T(1) - w);
}

// ---------------------------------------------------------------- one slot

// A slot's UV from its face's corners; rows[i] = the corner's row of verts_uvs or -1 (empty slot: all -1, or a
// corner outside [0, V): it adds nothing). Returns whether the slot is on a face.
template <typename scalar_t, typename acc_t>
C10_HOST_DEVICE inline bool slot_uv(const int64_t* p2f, const scalar_t* bary, const int64_t* faces_uvs,
                                    const scalar_t* verts_uvs, int64_t s, int64_t F, int64_t V, acc_t* u, acc_t* v,
                                    int64_t* rows) {
  const int64_t f = p2f[s];
  rows[0] = rows[1] = rows[2] = -1;
  acc_t au = 0, av = 0;
  const bool on_face = f >= 0 && f < F;
  if (on_face) {
    for (int i = 0; i < 3; ++i) {
      const int64_t r = faces_uvs[3 * f + i];
      if (r < 0 || r >= V) continue;
      rows[i] = r;
      const acc_t b = static_cast<acc_t>(bary[3 * s + i]);
      au += b * static_cast<acc_t>(verts_uvs[2 * r]);
      av += b * static_cast<acc_t>(verts_uvs[2 * r + 1]);
    }
  }
  // rounded to the inputs' dtype, as the UV array of the two-step path is
  *u = static_cast<acc_t>(static_cast<scalar_t>(au));
  *v = static_cast<acc_t>(static_cast<scalar_t>(av));
  return on_face;
}

// Where a UV reads a W x H map: texel coordinates (ix, iy) and their derivatives w.r.t. u and v.
template <typename scalar_t, typename acc_t>
struct Location {
  acc_t ix, iy, dix_du, diy_dv;
};

template <typename scalar_t, typename acc_t>
C10_HOST_DEVICE inline Location<scalar_t, acc_t> locate(acc_t u, acc_t v, int64_t W, int64_t H, Padding padding,
                                                        bool align_corners) {
  // the grid coordinates, rounded to the dtype as the two-step path's grid tensor is
  const acc_t gx = static_cast<acc_t>(static_cast<scalar_t>(lerp<acc_t>(-1, 1, u)));
  const acc_t gy = static_cast<acc_t>(static_cast<scalar_t>(lerp<acc_t>(1, -1, v)));
  Location<scalar_t, acc_t> loc;
  acc_t gix, giy;
  loc.ix = source_index(gx, W, padding, align_corners, &gix);
  loc.iy = source_index(gy, H, padding, align_corners, &giy);
  loc.dix_du = gix * acc_t(2);    // d gx / d u = 2
  loc.diy_dv = giy * acc_t(-2);   // d gy / d v = -2
  return loc;
}

// The 4 bilinear corners (x0, y0), (x0 + 1, y0), (x0, y0 + 1), (x0 + 1, y0 + 1) -- nw, ne, sw, se -- and their
// weights, with ATen's formulas.
template <typename acc_t>
struct Bilinear {
  int64_t x0, y0;
  acc_t nw, ne, sw, se;
};

template <typename acc_t>
C10_HOST_DEVICE inline Bilinear<acc_t> bilinear(acc_t ix, acc_t iy) {
  Bilinear<acc_t> b;
  b.x0 = static_cast<int64_t>(::floor(ix));
  b.y0 = static_cast<int64_t>(::floor(iy));
  const acc_t x0 = static_cast<acc_t>(b.x0), y0 = static_cast<acc_t>(b.y0);
  const acc_t x1 = x0 + 1, y1 = y0 + 1;
  b.nw = (x1 - ix) * (y1 - iy);
  b.ne = (ix - x0) * (y1 - iy);
  b.sw = (x1 - ix) * (iy - y0);
  b.se = (ix - x0) * (iy - y0);
  return b;
}

template <typename acc_t>
C10_HOST_DEVICE inline int64_t nearest_index(acc_t c) {
  return static_cast<int64_t>(::nearbyint(c));
}

C10_HOST_DEVICE inline bool in_map(int64_t x, int64_t y, int64_t W, int64_t H) {
  return x >= 0 && x < W && y >= 0 && y < H;
}

// ---------------------------------------------------------------- one slot, both backends

// The kernels' view of one call: contiguous inputs and their sizes (S slots, per_image of them per image).
template <typename scalar_t>
struct Slots {
  const int64_t* p2f;
  const scalar_t* bary;
  const int64_t* faces_uvs;
  const scalar_t* verts_uvs;
  const scalar_t* maps;
  int64_t S, per_image, F, V, Hm, Wm, C;
  bool bil;
  Padding pad;
  bool align_corners;
  // the map (Hm, Wm, C) of slot s's image
  C10_HOST_DEVICE const scalar_t* map_of(int64_t s) const { return maps + (s / per_image) * Hm * Wm * C; }
};

// The forward of slot s into its C channels o: the 4 bilinear texels summed in acc_t (nw, ne, sw, se) or the
// nearest texel; texels outside the map read 0.
template <typename scalar_t, typename acc_t>
C10_HOST_DEVICE inline void sample_slot(const Slots<scalar_t>& in, int64_t s, scalar_t* o) {
  acc_t u, v;
  int64_t rows[3];
  slot_uv<scalar_t, acc_t>(in.p2f, in.bary, in.faces_uvs, in.verts_uvs, s, in.F, in.V, &u, &v, rows);
  const auto loc = locate<scalar_t, acc_t>(u, v, in.Wm, in.Hm, in.pad, in.align_corners);
  const scalar_t* map = in.map_of(s);
  const int64_t Wm = in.Wm, Hm = in.Hm, C = in.C;
  if (in.bil) {
    const auto b = bilinear(loc.ix, loc.iy);
    const bool in_nw = in_map(b.x0, b.y0, Wm, Hm), in_ne = in_map(b.x0 + 1, b.y0, Wm, Hm),
               in_sw = in_map(b.x0, b.y0 + 1, Wm, Hm), in_se = in_map(b.x0 + 1, b.y0 + 1, Wm, Hm);
    const int64_t t = (b.y0 * Wm + b.x0) * C;  // an offset: read at in-map corners only
    for (int64_t c = 0; c < C; ++c) {
      acc_t acc = 0;
      if (in_nw) acc += static_cast<acc_t>(map[t + c]) * b.nw;
      if (in_ne) acc += static_cast<acc_t>(map[t + C + c]) * b.ne;
      if (in_sw) acc += static_cast<acc_t>(map[t + Wm * C + c]) * b.sw;
      if (in_se) acc += static_cast<acc_t>(map[t + (Wm + 1) * C + c]) * b.se;
      o[c] = static_cast<scalar_t>(acc);
    }
    return;
  }
  const int64_t x = nearest_index(loc.ix), y = nearest_index(loc.iy);
  const bool inside = in_map(x, y, Wm, Hm);
  for (int64_t c = 0; c < C; ++c) o[c] = inside ? map[(y * Wm + x) * C + c] : scalar_t(0);
}

// What the backward of one slot leaves for the reductions: its texel coordinates, its UV gradient (zero for
// nearest sampling and for empty slots) and the rows of verts_uvs its corners read (-1: none).
template <typename scalar_t, typename acc_t>
struct SlotGrad {
  Location<scalar_t, acc_t> loc;
  acc_t gu, gv;
  int64_t rows[3];
  // the slot's row (ix, iy, g_u, g_v) of the backward's scratch (S, kScratch)
  C10_HOST_DEVICE void store(acc_t* sc) const {
    sc[0] = loc.ix;
    sc[1] = loc.iy;
    sc[2] = gu;
    sc[3] = gv;
  }
};

// The backward of slot s with output gradient grad[s] (C channels): writes its grad_bary row gb (3; <g_uv, uv_i>
// for the corners on a row of verts_uvs, the others keep their zero) and returns its SlotGrad. With bilinear
// sampling and map_grads it calls add_texel(offset, w * grad[s, c]) for every in-map corner texel it reads
// (offset into the map of the slot's image, corner weight w), channel by channel, corners nw, ne, sw, se; without
// map_grads the texel pass of an empty slot (no UV gradient) is skipped.
template <typename scalar_t, typename acc_t, typename AddTexel>
C10_HOST_DEVICE inline SlotGrad<scalar_t, acc_t> slot_backward(const Slots<scalar_t>& in, const scalar_t* grad,
                                                               int64_t s, bool map_grads, AddTexel&& add_texel,
                                                               scalar_t* gb) {
  SlotGrad<scalar_t, acc_t> r;
  acc_t u, v;
  const bool on_face =
      slot_uv<scalar_t, acc_t>(in.p2f, in.bary, in.faces_uvs, in.verts_uvs, s, in.F, in.V, &u, &v, r.rows);
  r.loc = locate<scalar_t, acc_t>(u, v, in.Wm, in.Hm, in.pad, in.align_corners);
  r.gu = r.gv = acc_t(0);
  if (!in.bil || !(on_face || map_grads)) return r;
  const auto& loc = r.loc;
  const scalar_t* map = in.map_of(s);
  const scalar_t* go = grad + s * in.C;
  const int64_t Wm = in.Wm, Hm = in.Hm, C = in.C;
  const auto b = bilinear(loc.ix, loc.iy);
  const acc_t x0 = static_cast<acc_t>(b.x0), y0 = static_cast<acc_t>(b.y0);
  const acc_t x1 = x0 + 1, y1 = y0 + 1;
  const bool in_nw = in_map(b.x0, b.y0, Wm, Hm), in_ne = in_map(b.x0 + 1, b.y0, Wm, Hm),
             in_sw = in_map(b.x0, b.y0 + 1, Wm, Hm), in_se = in_map(b.x0 + 1, b.y0 + 1, Wm, Hm);
  const int64_t t = (b.y0 * Wm + b.x0) * C;  // an offset: read at in-map corners only
  acc_t gix = 0, giy = 0;
  for (int64_t c = 0; c < C; ++c) {
    const acc_t gc = static_cast<acc_t>(go[c]);
    if (in_nw) {
      const acc_t val = static_cast<acc_t>(map[t + c]);
      gix -= val * (y1 - loc.iy) * gc;
      giy -= val * (x1 - loc.ix) * gc;
      if (map_grads) add_texel(t + c, b.nw * gc);
    }
    if (in_ne) {
      const acc_t val = static_cast<acc_t>(map[t + C + c]);
      gix += val * (y1 - loc.iy) * gc;
      giy -= val * (loc.ix - x0) * gc;
      if (map_grads) add_texel(t + C + c, b.ne * gc);
    }
    if (in_sw) {
      const acc_t val = static_cast<acc_t>(map[t + Wm * C + c]);
      gix -= val * (loc.iy - y0) * gc;
      giy += val * (x1 - loc.ix) * gc;
      if (map_grads) add_texel(t + Wm * C + c, b.sw * gc);
    }
    if (in_se) {
      const acc_t val = static_cast<acc_t>(map[t + (Wm + 1) * C + c]);
      gix += val * (loc.iy - y0) * gc;
      giy += val * (loc.ix - x0) * gc;
      if (map_grads) add_texel(t + (Wm + 1) * C + c, b.se * gc);
    }
  }
  if (!on_face) return r;
  r.gu = gix * loc.dix_du;
  r.gv = giy * loc.diy_dv;
  for (int i = 0; i < 3; ++i) {
    const int64_t row = r.rows[i];
    if (row < 0) continue;
    gb[i] = static_cast<scalar_t>(r.gu * static_cast<acc_t>(in.verts_uvs[2 * row]) +
                                  r.gv * static_cast<acc_t>(in.verts_uvs[2 * row + 1]));
  }
  return r;
}

// ---------------------------------------------------------------- checks

inline void check_inputs(const at::Tensor& pix_to_face, const at::Tensor& bary, const at::Tensor& faces_uvs,
                         const at::Tensor& verts_uvs, const at::Tensor& maps) {
  MG_CHECK_DTYPE(pix_to_face, at::kLong);
  MG_CHECK_DIM(pix_to_face, 4);
  TORCH_CHECK(bary.dim() == 5 && bary.size(-1) == 3 && bary.sizes().slice(0, 4) == pix_to_face.sizes(),
              "bary must have the shape of pix_to_face plus a trailing 3, got ", bary.sizes());
  MG_CHECK_FLOATING(maps);
  MG_CHECK_DIM(maps, 4);
  TORCH_CHECK(maps.size(0) == pix_to_face.size(0), "maps must hold one map per image (", pix_to_face.size(0),
              "), got ", maps.size(0));
  TORCH_CHECK(maps.size(1) > 0 && maps.size(2) > 0, "maps must not be empty, got ", maps.sizes());
  MG_CHECK_SAME_DTYPE(bary, maps);
  MG_CHECK_SAME_DTYPE(verts_uvs, maps);
  TORCH_CHECK(faces_uvs.dim() == 2 && faces_uvs.size(1) == 3 && faces_uvs.scalar_type() == at::kLong,
              "faces_uvs must be (F, 3) int64, got ", faces_uvs.sizes(), " ", faces_uvs.scalar_type());
  TORCH_CHECK(verts_uvs.dim() == 2 && verts_uvs.size(1) == 2, "verts_uvs must be (V, 2), got ", verts_uvs.sizes());
  MG_CHECK_SAME_DEVICE(maps, pix_to_face);
  MG_CHECK_SAME_DEVICE(maps, bary);
  MG_CHECK_SAME_DEVICE(maps, faces_uvs);
  MG_CHECK_SAME_DEVICE(maps, verts_uvs);
  if (faces_uvs.device().is_cpu() && faces_uvs.numel() > 0) {
    const int64_t V = verts_uvs.size(0);
    TORCH_CHECK(faces_uvs.min().item<int64_t>() >= 0 && faces_uvs.max().item<int64_t>() < V,
                "faces_uvs must index rows of verts_uvs: every entry in [0, ", V, ")");
  }
}

inline void check_grad(const at::Tensor& grad, const at::Tensor& pix_to_face, const at::Tensor& maps) {
  TORCH_CHECK(grad.dim() == 5 && grad.sizes().slice(0, 4) == pix_to_face.sizes() && grad.size(4) == maps.size(3),
              "grad must have the shape of the output (pix_to_face's plus ", maps.size(3), "), got ", grad.sizes());
  MG_CHECK_FLOATING(grad);
  MG_CHECK_SAME_DEVICE(maps, grad);
}

// One call after its checks (both backends): the modes, the sizes and the inputs made contiguous.
struct Call {
  bool bil;
  Padding pad;
  bool align_corners;
  int64_t N, Hm, Wm, C, S, F, V;
  at::Tensor p2f, bary, faces_uvs, verts_uvs, maps;
  template <typename scalar_t>
  Slots<scalar_t> slots() const {
    return {p2f.const_data_ptr<int64_t>(), bary.const_data_ptr<scalar_t>(), faces_uvs.const_data_ptr<int64_t>(),
            verts_uvs.const_data_ptr<scalar_t>(), maps.const_data_ptr<scalar_t>(), S, N > 0 ? S / N : 0, F, V, Hm,
            Wm, C, bil, pad, align_corners};
  }
};

inline Call prepare(const at::Tensor& pix_to_face, const at::Tensor& bary, const at::Tensor& faces_uvs,
                    const at::Tensor& verts_uvs, const at::Tensor& maps, c10::string_view mode,
                    c10::string_view padding_mode, bool align_corners) {
  check_inputs(pix_to_face, bary, faces_uvs, verts_uvs, maps);
  const bool bil = parse_mode(mode);
  const Padding pad = parse_padding(padding_mode);
  return {bil, pad, align_corners, maps.size(0), maps.size(1), maps.size(2), maps.size(3), pix_to_face.numel(),
          faces_uvs.size(0), verts_uvs.size(0), pix_to_face.contiguous(), bary.contiguous(),
          faces_uvs.contiguous(), verts_uvs.contiguous(), maps.contiguous()};
}

// The forward's output (N, H, W, K, C), uninitialised.
inline at::Tensor empty_output(const Call& c) {
  return at::empty({c.p2f.size(0), c.p2f.size(1), c.p2f.size(2), c.p2f.size(3), c.C}, c.maps.options());
}

// The backward's zero-initialised gradients: grad_bary in the inputs' dtype, grad_verts_uvs and grad_maps in the
// accumulation dtype.
struct Grads {
  at::Tensor bary, uvs, maps;
  // the three in the inputs' dtype (no copy for float32 / float64)
  std::tuple<at::Tensor, at::Tensor, at::Tensor> result() const {
    const auto dt = bary.scalar_type();
    return {bary, uvs.to(dt), maps.to(dt)};
  }
};

inline Grads zero_grads(const Call& c) {
  const auto acc = at::toOpMathType(c.maps.scalar_type());
  return {at::zeros(c.bary.sizes(), c.bary.options()), at::zeros({c.V, 2}, c.verts_uvs.options().dtype(acc)),
          at::zeros(c.maps.sizes(), c.maps.options().dtype(acc))};
}

// Per-slot terms of the backward kept for the reductions: (ix, iy, g_u, g_v) in the accumulation dtype.
constexpr int kScratch = 4;

// grad_verts_uvs and grad_maps without atomics (ATen ops, any device) from the per-slot scratch (S, 4): the
// kernels' terms summed with index_put_(accumulate=true), in the accumulation dtype, returned in maps' dtype.
std::tuple<at::Tensor, at::Tensor> grads_deterministic(const at::Tensor& scratch, const at::Tensor& grad,
                                                       const at::Tensor& pix_to_face, const at::Tensor& bary,
                                                       const at::Tensor& faces_uvs, const at::Tensor& verts_uvs,
                                                       const at::Tensor& maps, bool bilinear_mode, Padding padding);

}  // namespace texuv
}  // namespace mg
