// CPU kernels for sample_textures_uv (contract in sample_textures_uv.h). Forward: parallel over slots, one pass
// (UV interpolation and texel reads together). Backward: a pass over slots writes grad_bary and keeps each slot's
// texel coordinates and UV gradient (S x 4 scratch); grad_verts_uvs and grad_maps are then summed without atomics:
// each thread owns a range of UV rows / map rows and scans the slots in order (deterministic for any thread count).
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <torch/library.h>

#include <algorithm>
#include <tuple>

#include "../../common/dispatch.h"
#include "sample_textures_uv.h"

namespace mg {
namespace texuv {
namespace {

struct Inputs {
  at::Tensor p2f, bary, faces_uvs, verts_uvs, maps;
};

Inputs contiguous(const at::Tensor& p2f, const at::Tensor& bary, const at::Tensor& faces_uvs,
                  const at::Tensor& verts_uvs, const at::Tensor& maps) {
  return {p2f.contiguous(), bary.contiguous(), faces_uvs.contiguous(), verts_uvs.contiguous(), maps.contiguous()};
}

at::Tensor sample_cpu(const at::Tensor& pix_to_face, const at::Tensor& bary, const at::Tensor& faces_uvs,
                      const at::Tensor& verts_uvs, const at::Tensor& maps, c10::string_view mode,
                      c10::string_view padding_mode, bool align_corners) {
  check_inputs(pix_to_face, bary, faces_uvs, verts_uvs, maps);
  const bool bil = parse_mode(mode);
  const Padding pad = parse_padding(padding_mode);
  const int64_t N = maps.size(0), Hm = maps.size(1), Wm = maps.size(2), C = maps.size(3);
  const int64_t S = pix_to_face.numel(), F = faces_uvs.size(0), V = verts_uvs.size(0);
  auto out = at::empty({pix_to_face.size(0), pix_to_face.size(1), pix_to_face.size(2), pix_to_face.size(3), C},
                       maps.options());
  if (out.numel() == 0) return out;
  const int64_t per_image = S / N;
  const Inputs in = contiguous(pix_to_face, bary, faces_uvs, verts_uvs, maps);
  MG_DISPATCH_FLOATING_TYPES(maps.scalar_type(), "sample_textures_uv_cpu", [&] {
    using acc_t = mg::acc_t<scalar_t>;
    const int64_t* pp = in.p2f.const_data_ptr<int64_t>();
    const scalar_t* bp = in.bary.const_data_ptr<scalar_t>();
    const int64_t* fp = in.faces_uvs.const_data_ptr<int64_t>();
    const scalar_t* vp = in.verts_uvs.const_data_ptr<scalar_t>();
    const scalar_t* mp = in.maps.const_data_ptr<scalar_t>();
    scalar_t* op = out.mutable_data_ptr<scalar_t>();
    at::parallel_for(0, S, 512, [&](int64_t lo, int64_t hi) {
      for (int64_t s = lo; s < hi; ++s) {
        acc_t u, v;
        int64_t rows[3];
        slot_uv<scalar_t, acc_t>(pp, bp, fp, vp, s, F, V, &u, &v, rows);
        const auto loc = locate<scalar_t, acc_t>(u, v, Wm, Hm, pad, align_corners);
        const scalar_t* map = mp + (s / per_image) * Hm * Wm * C;
        scalar_t* o = op + s * C;
        if (bil) {
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
        } else {
          const int64_t x = nearest_index(loc.ix), y = nearest_index(loc.iy);
          if (in_map(x, y, Wm, Hm)) {
            std::copy(map + (y * Wm + x) * C, map + (y * Wm + x + 1) * C, o);
          } else {
            std::fill(o, o + C, scalar_t(0));
          }
        }
      }
    });
  });
  return out;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> sample_backward_cpu(
    const at::Tensor& grad, const at::Tensor& pix_to_face, const at::Tensor& bary, const at::Tensor& faces_uvs,
    const at::Tensor& verts_uvs, const at::Tensor& maps, c10::string_view mode, c10::string_view padding_mode,
    bool align_corners) {
  check_inputs(pix_to_face, bary, faces_uvs, verts_uvs, maps);
  check_grad(grad, pix_to_face, maps);
  const bool bil = parse_mode(mode);
  const Padding pad = parse_padding(padding_mode);
  const auto dt = maps.scalar_type();
  const auto acc = at::toOpMathType(dt);
  const int64_t N = maps.size(0), Hm = maps.size(1), Wm = maps.size(2), C = maps.size(3);
  const int64_t S = pix_to_face.numel(), F = faces_uvs.size(0), V = verts_uvs.size(0);
  auto grad_bary = at::zeros(bary.sizes(), bary.options());
  auto grad_uvs = at::zeros({V, 2}, verts_uvs.options().dtype(acc));
  auto grad_maps = at::zeros(maps.sizes(), maps.options().dtype(acc));
  if (S == 0 || C == 0) return {grad_bary, grad_uvs.to(dt), grad_maps.to(dt)};
  const int64_t per_image = S / N;
  const auto g = grad.to(dt).contiguous();
  const Inputs in = contiguous(pix_to_face, bary, faces_uvs, verts_uvs, maps);
  auto scratch = at::empty({S, kScratch}, maps.options().dtype(acc));
  const bool deterministic = use_deterministic_path(maps);  // MESHGRAPH_DEVICE_PATH=1: the CUDA side's path
  MG_DISPATCH_FLOATING_TYPES(dt, "sample_textures_uv_backward_cpu", [&] {
    using acc_t = mg::acc_t<scalar_t>;
    const scalar_t* gp = g.const_data_ptr<scalar_t>();
    const int64_t* pp = in.p2f.const_data_ptr<int64_t>();
    const scalar_t* bp = in.bary.const_data_ptr<scalar_t>();
    const int64_t* fp = in.faces_uvs.const_data_ptr<int64_t>();
    const scalar_t* vp = in.verts_uvs.const_data_ptr<scalar_t>();
    const scalar_t* mp = in.maps.const_data_ptr<scalar_t>();
    scalar_t* gbp = grad_bary.mutable_data_ptr<scalar_t>();
    acc_t* sp = scratch.mutable_data_ptr<acc_t>();
    // 1. per slot: texel coordinates, the UV gradient, grad_bary
    at::parallel_for(0, S, 512, [&](int64_t lo, int64_t hi) {
      for (int64_t s = lo; s < hi; ++s) {
        acc_t u, v;
        int64_t rows[3];
        const bool on_face = slot_uv<scalar_t, acc_t>(pp, bp, fp, vp, s, F, V, &u, &v, rows);
        const auto loc = locate<scalar_t, acc_t>(u, v, Wm, Hm, pad, align_corners);
        acc_t* sc = sp + s * kScratch;
        sc[0] = loc.ix;
        sc[1] = loc.iy;
        acc_t gu = 0, gv = 0;
        if (bil && on_face) {
          const auto b = bilinear(loc.ix, loc.iy);
          const scalar_t* map = mp + (s / per_image) * Hm * Wm * C;
          const scalar_t* go = gp + s * C;
          const acc_t x0 = static_cast<acc_t>(b.x0), y0 = static_cast<acc_t>(b.y0);
          const acc_t x1 = x0 + 1, y1 = y0 + 1;
          acc_t gix = 0, giy = 0;
          for (int64_t c = 0; c < C; ++c) {
            const acc_t gc = static_cast<acc_t>(go[c]);
            if (in_map(b.x0, b.y0, Wm, Hm)) {
              const acc_t t = static_cast<acc_t>(map[(b.y0 * Wm + b.x0) * C + c]);
              gix -= t * (y1 - loc.iy) * gc;
              giy -= t * (x1 - loc.ix) * gc;
            }
            if (in_map(b.x0 + 1, b.y0, Wm, Hm)) {
              const acc_t t = static_cast<acc_t>(map[(b.y0 * Wm + b.x0 + 1) * C + c]);
              gix += t * (y1 - loc.iy) * gc;
              giy -= t * (loc.ix - x0) * gc;
            }
            if (in_map(b.x0, b.y0 + 1, Wm, Hm)) {
              const acc_t t = static_cast<acc_t>(map[((b.y0 + 1) * Wm + b.x0) * C + c]);
              gix -= t * (loc.iy - y0) * gc;
              giy += t * (x1 - loc.ix) * gc;
            }
            if (in_map(b.x0 + 1, b.y0 + 1, Wm, Hm)) {
              const acc_t t = static_cast<acc_t>(map[((b.y0 + 1) * Wm + b.x0 + 1) * C + c]);
              gix += t * (loc.iy - y0) * gc;
              giy += t * (loc.ix - x0) * gc;
            }
          }
          gu = gix * loc.dix_du;
          gv = giy * loc.diy_dv;
          for (int i = 0; i < 3; ++i) {
            const int64_t r = rows[i];
            if (r < 0) continue;
            gbp[3 * s + i] = static_cast<scalar_t>(gu * static_cast<acc_t>(vp[2 * r]) +
                                                   gv * static_cast<acc_t>(vp[2 * r + 1]));
          }
        }
        sc[2] = gu;
        sc[3] = gv;
      }
    });
    if (deterministic) return;  // grad_verts_uvs and grad_maps from the ATen reductions below
    acc_t* gup = grad_uvs.mutable_data_ptr<acc_t>();
    acc_t* gmp = grad_maps.mutable_data_ptr<acc_t>();
    // 2. grad_verts_uvs: each thread owns a range of UV rows (only bilinear sampling moves UVs)
    if (bil && V > 0 && F > 0) {
      const int64_t parts = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), V));
      at::parallel_for(0, parts, 1, [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t) {
          const int64_t r0 = V * t / parts, r1 = V * (t + 1) / parts;
          for (int64_t s = 0; s < S; ++s) {
            const int64_t f = pp[s];
            if (f < 0 || f >= F) continue;
            const acc_t gu = sp[s * kScratch + 2], gv = sp[s * kScratch + 3];
            for (int i = 0; i < 3; ++i) {
              const int64_t r = fp[3 * f + i];
              if (r < r0 || r >= r1) continue;
              const acc_t w = static_cast<acc_t>(bp[3 * s + i]);
              gup[2 * r] += w * gu;
              gup[2 * r + 1] += w * gv;
            }
          }
        }
      });
    }
    // 3. grad_maps: each thread owns a range of the N * Hm map rows and scans the slots of those images
    const int64_t map_rows = N * Hm;
    const int64_t parts = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), map_rows));
    at::parallel_for(0, parts, 1, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t q0 = map_rows * t / parts, q1 = map_rows * (t + 1) / parts;
        if (q0 >= q1) continue;
        for (int64_t n = q0 / Hm; n <= (q1 - 1) / Hm; ++n) {
          const int64_t y_lo = std::max<int64_t>(q0 - n * Hm, 0), y_hi = std::min<int64_t>(q1 - n * Hm, Hm);
          acc_t* gm = gmp + n * Hm * Wm * C;
          for (int64_t s = n * per_image; s < (n + 1) * per_image; ++s) {
            const acc_t ix = sp[s * kScratch], iy = sp[s * kScratch + 1];
            const scalar_t* go = gp + s * C;
            if (bil) {
              const auto b = bilinear(ix, iy);
              if (b.y0 + 1 < y_lo || b.y0 >= y_hi) continue;
              const int64_t xs[4] = {b.x0, b.x0 + 1, b.x0, b.x0 + 1};
              const int64_t ys[4] = {b.y0, b.y0, b.y0 + 1, b.y0 + 1};
              const acc_t ws[4] = {b.nw, b.ne, b.sw, b.se};
              for (int k = 0; k < 4; ++k) {
                if (ys[k] < y_lo || ys[k] >= y_hi || xs[k] < 0 || xs[k] >= Wm) continue;
                acc_t* o = gm + (ys[k] * Wm + xs[k]) * C;
                for (int64_t c = 0; c < C; ++c) o[c] += ws[k] * static_cast<acc_t>(go[c]);
              }
            } else {
              const int64_t x = nearest_index(ix), y = nearest_index(iy);
              if (y < y_lo || y >= y_hi || x < 0 || x >= Wm) continue;
              acc_t* o = gm + (y * Wm + x) * C;
              for (int64_t c = 0; c < C; ++c) o[c] += static_cast<acc_t>(go[c]);
            }
          }
        }
      }
    });
  });
  if (deterministic) {
    auto [gu, gm] = grads_deterministic(scratch, g, in.p2f, in.bary, in.faces_uvs, in.verts_uvs, in.maps, bil, pad);
    return {grad_bary, gu, gm};
  }
  return {grad_bary, grad_uvs.to(dt), grad_maps.to(dt)};  // no copy for float32 / float64
}

}  // namespace
}  // namespace texuv
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CPU, m) {
  m.impl("sample_textures_uv", &mg::texuv::sample_cpu);
  m.impl("sample_textures_uv_backward", &mg::texuv::sample_backward_cpu);
}
