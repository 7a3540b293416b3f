// CUDA kernels for sample_textures_uv (contract in sample_textures_uv.h): one thread per slot (the C channels in
// a loop; maps are typically 3 or 4 wide). The backward adds grad_verts_uvs and grad_maps with atomicAdd, or
// (deterministic algorithms) keeps per-slot terms for the ATen reductions of grads_deterministic.
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include <tuple>

#include "../../common/cuda_utils.cuh"
#include "../../common/dispatch.h"
#include "sample_textures_uv.h"

namespace mg {
namespace texuv {
namespace {

template <typename scalar_t, typename acc_t>
__global__ void sample_kernel(const int64_t* __restrict__ p2f, const scalar_t* __restrict__ bary,
                              const int64_t* __restrict__ faces_uvs, const scalar_t* __restrict__ verts_uvs,
                              const scalar_t* __restrict__ maps, int64_t S, int64_t per_image, int64_t F, int64_t V,
                              int64_t Hm, int64_t Wm, int64_t C, bool bil, Padding pad, bool align_corners,
                              scalar_t* __restrict__ out) {
  MG_CUDA_KERNEL_LOOP(s, S) {
    acc_t u, v;
    int64_t rows[3];
    slot_uv<scalar_t, acc_t>(p2f, bary, faces_uvs, verts_uvs, s, F, V, &u, &v, rows);
    const auto loc = locate<scalar_t, acc_t>(u, v, Wm, Hm, pad, align_corners);
    const scalar_t* map = maps + (s / per_image) * Hm * Wm * C;
    scalar_t* o = out + s * C;
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
      const bool inside = in_map(x, y, Wm, Hm);
      for (int64_t c = 0; c < C; ++c) o[c] = inside ? map[(y * Wm + x) * C + c] : scalar_t(0);
    }
  }
}

// grad_uvs / grad_maps null: not accumulated here (the deterministic path); scratch null: not kept.
template <typename scalar_t, typename acc_t>
__global__ void sample_backward_kernel(const scalar_t* __restrict__ grad, const int64_t* __restrict__ p2f,
                                       const scalar_t* __restrict__ bary, const int64_t* __restrict__ faces_uvs,
                                       const scalar_t* __restrict__ verts_uvs, const scalar_t* __restrict__ maps,
                                       int64_t S, int64_t per_image, int64_t F, int64_t V, int64_t Hm, int64_t Wm,
                                       int64_t C, bool bil, Padding pad, bool align_corners,
                                       scalar_t* __restrict__ grad_bary, acc_t* grad_uvs, acc_t* grad_maps,
                                       acc_t* scratch) {
  MG_CUDA_KERNEL_LOOP(s, S) {
    acc_t u, v;
    int64_t rows[3];
    const bool on_face = slot_uv<scalar_t, acc_t>(p2f, bary, faces_uvs, verts_uvs, s, F, V, &u, &v, rows);
    const auto loc = locate<scalar_t, acc_t>(u, v, Wm, Hm, pad, align_corners);
    const int64_t n = s / per_image;
    const scalar_t* map = maps + n * Hm * Wm * C;
    acc_t* gm = grad_maps != nullptr ? grad_maps + n * Hm * Wm * C : nullptr;
    const scalar_t* go = grad + s * C;
    acc_t gu = 0, gv = 0;
    if (bil) {
      const auto b = bilinear(loc.ix, loc.iy);
      const acc_t x0 = static_cast<acc_t>(b.x0), y0 = static_cast<acc_t>(b.y0);
      const acc_t x1 = x0 + 1, y1 = y0 + 1;
      const bool in_nw = in_map(b.x0, b.y0, Wm, Hm), in_ne = in_map(b.x0 + 1, b.y0, Wm, Hm),
                 in_sw = in_map(b.x0, b.y0 + 1, Wm, Hm), in_se = in_map(b.x0 + 1, b.y0 + 1, Wm, Hm);
      const int64_t t = (b.y0 * Wm + b.x0) * C;
      acc_t gix = 0, giy = 0;
      for (int64_t c = 0; c < C; ++c) {
        const acc_t gc = static_cast<acc_t>(go[c]);
        if (in_nw) {
          const acc_t val = static_cast<acc_t>(map[t + c]);
          gix -= val * (y1 - loc.iy) * gc;
          giy -= val * (x1 - loc.ix) * gc;
          if (gm != nullptr) atomicAdd(gm + t + c, b.nw * gc);
        }
        if (in_ne) {
          const acc_t val = static_cast<acc_t>(map[t + C + c]);
          gix += val * (y1 - loc.iy) * gc;
          giy -= val * (loc.ix - x0) * gc;
          if (gm != nullptr) atomicAdd(gm + t + C + c, b.ne * gc);
        }
        if (in_sw) {
          const acc_t val = static_cast<acc_t>(map[t + Wm * C + c]);
          gix -= val * (loc.iy - y0) * gc;
          giy += val * (x1 - loc.ix) * gc;
          if (gm != nullptr) atomicAdd(gm + t + Wm * C + c, b.sw * gc);
        }
        if (in_se) {
          const acc_t val = static_cast<acc_t>(map[t + (Wm + 1) * C + c]);
          gix += val * (loc.iy - y0) * gc;
          giy += val * (loc.ix - x0) * gc;
          if (gm != nullptr) atomicAdd(gm + t + (Wm + 1) * C + c, b.se * gc);
        }
      }
      if (on_face) {
        gu = gix * loc.dix_du;
        gv = giy * loc.diy_dv;
        for (int i = 0; i < 3; ++i) {
          const int64_t r = rows[i];
          if (r < 0) continue;
          grad_bary[3 * s + i] = static_cast<scalar_t>(gu * static_cast<acc_t>(verts_uvs[2 * r]) +
                                                       gv * static_cast<acc_t>(verts_uvs[2 * r + 1]));
          if (grad_uvs != nullptr) {
            const acc_t w = static_cast<acc_t>(bary[3 * s + i]);
            atomicAdd(grad_uvs + 2 * r, w * gu);
            atomicAdd(grad_uvs + 2 * r + 1, w * gv);
          }
        }
      }
    } else if (gm != nullptr) {
      const int64_t x = nearest_index(loc.ix), y = nearest_index(loc.iy);
      if (in_map(x, y, Wm, Hm))
        for (int64_t c = 0; c < C; ++c) atomicAdd(gm + (y * Wm + x) * C + c, static_cast<acc_t>(go[c]));
    }
    if (scratch != nullptr) {
      acc_t* sc = scratch + s * kScratch;
      sc[0] = loc.ix;
      sc[1] = loc.iy;
      sc[2] = gu;
      sc[3] = gv;
    }
  }
}

at::Tensor sample_cuda(const at::Tensor& pix_to_face, const at::Tensor& bary, const at::Tensor& faces_uvs,
                       const at::Tensor& verts_uvs, const at::Tensor& maps, c10::string_view mode,
                       c10::string_view padding_mode, bool align_corners) {
  check_inputs(pix_to_face, bary, faces_uvs, verts_uvs, maps);
  const bool bil = parse_mode(mode);
  const Padding pad = parse_padding(padding_mode);
  const c10::cuda::CUDAGuard guard(maps.device());
  const int64_t N = maps.size(0), Hm = maps.size(1), Wm = maps.size(2), C = maps.size(3);
  const int64_t S = pix_to_face.numel(), F = faces_uvs.size(0), V = verts_uvs.size(0);
  auto out = at::empty({pix_to_face.size(0), pix_to_face.size(1), pix_to_face.size(2), pix_to_face.size(3), C},
                       maps.options());
  if (out.numel() == 0) return out;
  const auto p2f = pix_to_face.contiguous(), b = bary.contiguous(), fu = faces_uvs.contiguous(),
             vu = verts_uvs.contiguous(), mp = maps.contiguous();
  MG_DISPATCH_FLOATING_TYPES(maps.scalar_type(), "sample_textures_uv_cuda", [&] {
    sample_kernel<scalar_t, mg::acc_t<scalar_t>><<<cuda::num_blocks(S), cuda::kThreads, 0,
                                                   c10::cuda::getCurrentCUDAStream()>>>(
        p2f.const_data_ptr<int64_t>(), b.const_data_ptr<scalar_t>(), fu.const_data_ptr<int64_t>(),
        vu.const_data_ptr<scalar_t>(), mp.const_data_ptr<scalar_t>(), S, S / N, F, V, Hm, Wm, C, bil, pad,
        align_corners, out.mutable_data_ptr<scalar_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return out;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> sample_backward_cuda(
    const at::Tensor& grad, const at::Tensor& pix_to_face, const at::Tensor& bary, const at::Tensor& faces_uvs,
    const at::Tensor& verts_uvs, const at::Tensor& maps, c10::string_view mode, c10::string_view padding_mode,
    bool align_corners) {
  check_inputs(pix_to_face, bary, faces_uvs, verts_uvs, maps);
  check_grad(grad, pix_to_face, maps);
  const bool bil = parse_mode(mode);
  const Padding pad = parse_padding(padding_mode);
  const c10::cuda::CUDAGuard guard(maps.device());
  const auto dt = maps.scalar_type();
  const auto acc = at::toOpMathType(dt);
  const int64_t N = maps.size(0), Hm = maps.size(1), Wm = maps.size(2), C = maps.size(3);
  const int64_t S = pix_to_face.numel(), F = faces_uvs.size(0), V = verts_uvs.size(0);
  auto grad_bary = at::zeros(bary.sizes(), bary.options());
  auto grad_uvs = at::zeros({V, 2}, verts_uvs.options().dtype(acc));
  auto grad_maps = at::zeros(maps.sizes(), maps.options().dtype(acc));
  if (S == 0 || C == 0) return {grad_bary, grad_uvs.to(dt), grad_maps.to(dt)};
  const auto g = grad.to(dt).contiguous();
  const auto p2f = pix_to_face.contiguous(), b = bary.contiguous(), fu = faces_uvs.contiguous(),
             vu = verts_uvs.contiguous(), mp = maps.contiguous();
  const bool deterministic = use_deterministic_path(maps);
  at::Tensor scratch = deterministic ? at::empty({S, kScratch}, maps.options().dtype(acc)) : at::Tensor();
  if (!deterministic) alert_atomic_reduction("sample_textures_uv_backward_cuda");
  MG_DISPATCH_FLOATING_TYPES(dt, "sample_textures_uv_backward_cuda", [&] {
    using acc_t = mg::acc_t<scalar_t>;
    sample_backward_kernel<scalar_t, acc_t><<<cuda::num_blocks(S), cuda::kThreads, 0,
                                              c10::cuda::getCurrentCUDAStream()>>>(
        g.const_data_ptr<scalar_t>(), p2f.const_data_ptr<int64_t>(), b.const_data_ptr<scalar_t>(),
        fu.const_data_ptr<int64_t>(), vu.const_data_ptr<scalar_t>(), mp.const_data_ptr<scalar_t>(), S, S / N, F, V,
        Hm, Wm, C, bil, pad, align_corners, grad_bary.mutable_data_ptr<scalar_t>(),
        deterministic ? nullptr : grad_uvs.mutable_data_ptr<acc_t>(),
        deterministic ? nullptr : grad_maps.mutable_data_ptr<acc_t>(),
        deterministic ? scratch.mutable_data_ptr<acc_t>() : nullptr);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  if (deterministic) {
    auto [gu, gm] = grads_deterministic(scratch, g, p2f, b, fu, vu, mp, bil, pad);
    return {grad_bary, gu, gm};
  }
  return {grad_bary, grad_uvs.to(dt), grad_maps.to(dt)};  // no copy for float32 / float64
}

}  // namespace
}  // namespace texuv
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CUDA, m) {
  m.impl("sample_textures_uv", &mg::texuv::sample_cuda);
  m.impl("sample_textures_uv_backward", &mg::texuv::sample_backward_cuda);
}
