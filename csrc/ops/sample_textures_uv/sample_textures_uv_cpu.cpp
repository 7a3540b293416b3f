// CPU kernels for sample_textures_uv (contract in sample_textures_uv.h). Forward: parallel over slots, one pass
// (UV interpolation and texel reads together). Backward: a pass over slots writes grad_bary and keeps each slot's
// texel coordinates and UV gradient (S x 4 scratch); grad_verts_uvs and grad_maps are then summed without atomics:
// each thread owns a range of UV rows / map rows and scans the slots in order (deterministic for any thread count).
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <algorithm>
#include <tuple>

#include "../../common/dispatch.h"
#include "sample_textures_uv.h"

namespace mg {
namespace texuv {
namespace {

at::Tensor sample_cpu(const at::Tensor& pix_to_face, const at::Tensor& bary, const at::Tensor& faces_uvs,
                      const at::Tensor& verts_uvs, const at::Tensor& maps, c10::string_view mode,
                      c10::string_view padding_mode, bool align_corners) {
  const Call call = prepare(pix_to_face, bary, faces_uvs, verts_uvs, maps, mode, padding_mode, align_corners);
  auto out = empty_output(call);
  if (out.numel() == 0) return out;
  MG_DISPATCH_FLOATING_TYPES(maps.scalar_type(), "sample_textures_uv_cpu", [&] {
    const Slots<scalar_t> in = call.slots<scalar_t>();
    scalar_t* op = out.mutable_data_ptr<scalar_t>();
    at::parallel_for(0, call.S, 512, [&](int64_t lo, int64_t hi) {
      for (int64_t s = lo; s < hi; ++s) sample_slot<scalar_t, mg::acc_t<scalar_t>>(in, s, op + s * call.C);
    });
  });
  return out;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> sample_backward_cpu(
    const at::Tensor& grad, const at::Tensor& pix_to_face, const at::Tensor& bary, const at::Tensor& faces_uvs,
    const at::Tensor& verts_uvs, const at::Tensor& maps, c10::string_view mode, c10::string_view padding_mode,
    bool align_corners) {
  const Call call = prepare(pix_to_face, bary, faces_uvs, verts_uvs, maps, mode, padding_mode, align_corners);
  check_grad(grad, pix_to_face, maps);
  const Grads out = zero_grads(call);
  if (call.S == 0 || call.C == 0) return out.result();
  const auto dt = maps.scalar_type();
  const bool bil = call.bil;
  const int64_t N = call.N, Hm = call.Hm, Wm = call.Wm, C = call.C, S = call.S, F = call.F, V = call.V;
  const int64_t per_image = S / N;
  const auto g = grad.to(dt).contiguous();
  auto scratch = at::empty({S, kScratch}, maps.options().dtype(at::toOpMathType(dt)));
  const bool deterministic = use_deterministic_path(maps);  // MESHGRAPH_DEVICE_PATH=1: the CUDA side's path
  MG_DISPATCH_FLOATING_TYPES(dt, "sample_textures_uv_backward_cpu", [&] {
    using acc_t = mg::acc_t<scalar_t>;
    const Slots<scalar_t> in = call.slots<scalar_t>();
    const scalar_t* gp = g.const_data_ptr<scalar_t>();
    scalar_t* gbp = out.bary.mutable_data_ptr<scalar_t>();
    acc_t* sp = scratch.mutable_data_ptr<acc_t>();
    // 1. per slot: texel coordinates, the UV gradient, grad_bary (grad_maps: pass 3)
    at::parallel_for(0, S, 512, [&](int64_t lo, int64_t hi) {
      for (int64_t s = lo; s < hi; ++s)
        slot_backward<scalar_t, acc_t>(in, gp, s, /*map_grads=*/false, [](int64_t, acc_t) {}, gbp + 3 * s)
            .store(sp + s * kScratch);
    });
    if (deterministic) return;  // grad_verts_uvs and grad_maps from the ATen reductions below
    const int64_t* pp = in.p2f;
    const int64_t* fp = in.faces_uvs;
    const scalar_t* bp = in.bary;
    acc_t* gup = out.uvs.mutable_data_ptr<acc_t>();
    acc_t* gmp = out.maps.mutable_data_ptr<acc_t>();
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
    auto [gu, gm] = grads_deterministic(scratch, g, call.p2f, call.bary, call.faces_uvs, call.verts_uvs, call.maps,
                                        bil, call.pad);
    return {out.bary, gu, gm};
  }
  return out.result();
}

}  // namespace
}  // namespace texuv
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CPU, m) {
  m.impl("sample_textures_uv", &mg::texuv::sample_cpu);
  m.impl("sample_textures_uv_backward", &mg::texuv::sample_backward_cpu);
}
