// Schemas for sample_textures_uv and its backward (contract in sample_textures_uv.h), and the backward's
// deterministic ATen reductions.
#include <ATen/ATen.h>
#include <ATen/OpMathType.h>
#include <torch/library.h>

#include <tuple>

#include "sample_textures_uv.h"

TORCH_LIBRARY_FRAGMENT(meshgraph, m) {
  m.def(
      "sample_textures_uv(Tensor pix_to_face, Tensor bary, Tensor faces_uvs, Tensor verts_uvs, Tensor maps, "
      "str mode, str padding_mode, bool align_corners) -> Tensor",
      {at::Tag::pt2_compliant_tag});
  m.def(
      "sample_textures_uv_backward(Tensor grad, Tensor pix_to_face, Tensor bary, Tensor faces_uvs, "
      "Tensor verts_uvs, Tensor maps, str mode, str padding_mode, bool align_corners) -> (Tensor, Tensor, Tensor)",
      {at::Tag::pt2_compliant_tag});
}

namespace mg {
namespace texuv {

std::tuple<at::Tensor, at::Tensor> grads_deterministic(const at::Tensor& scratch, const at::Tensor& grad,
                                                       const at::Tensor& pix_to_face, const at::Tensor& bary,
                                                       const at::Tensor& faces_uvs, const at::Tensor& verts_uvs,
                                                       const at::Tensor& maps, bool bilinear_mode, Padding padding) {
  const auto dt = maps.scalar_type();
  const auto acc = at::toOpMathType(dt);
  const int64_t N = maps.size(0), Hm = maps.size(1), Wm = maps.size(2), C = maps.size(3);
  const int64_t F = faces_uvs.size(0), V = verts_uvs.size(0), S = pix_to_face.numel();
  auto grad_uvs = at::zeros({V, 2}, verts_uvs.options().dtype(acc));
  auto grad_maps = at::zeros({N * Hm * Wm, C}, maps.options().dtype(acc));
  if (S == 0) return {grad_uvs.to(dt), grad_maps.view(maps.sizes()).to(dt)};
  const auto ix = scratch.select(1, 0), iy = scratch.select(1, 1), guv = scratch.slice(1, 2, 4);  // (S,), (S, 2)
  // corner UVs: bary_i * g_uv to row faces_uvs[f, i]; empty slots and corners outside verts_uvs add exact zeros
  if (F > 0 && V > 0) {
    const auto f = pix_to_face.reshape({-1});
    const auto fc = f.clamp(0, F - 1);
    const auto rows = faces_uvs.index_select(0, fc);  // (S, 3)
    const auto ok = (f >= 0).logical_and_(f < F).unsqueeze(1).logical_and((rows >= 0).logical_and_(rows < V));
    const auto contrib = at::where(ok.unsqueeze(-1), bary.to(acc).reshape({-1, 3, 1}) * guv.unsqueeze(1), 0);
    grad_uvs.index_put_({rows.clamp(0, V - 1).reshape({-1})}, contrib.reshape({-1, 2}), /*accumulate=*/true);
  }
  // texels: w * grad[s] at each texel read; outside the map: exact zeros added to texel 0 of the image
  const auto g = grad.to(acc).reshape({S, 1, C});
  const auto image = at::arange(N, pix_to_face.options()).view({N, 1}).expand({N, S / N}).reshape({S, 1});
  at::Tensor xs, ys, ws;
  if (bilinear_mode) {
    const auto x0 = ix.floor(), y0 = iy.floor();
    const auto x1 = x0 + 1, y1 = y0 + 1;
    ws = at::stack({(x1 - ix) * (y1 - iy), (ix - x0) * (y1 - iy), (x1 - ix) * (iy - y0), (ix - x0) * (iy - y0)}, 1);
    xs = at::stack({x0, x1, x0, x1}, 1).to(at::kLong);
    ys = at::stack({y0, y0, y1, y1}, 1).to(at::kLong);
  } else {
    xs = ix.round().to(at::kLong).unsqueeze(1);  // round half to even, as nearbyint
    ys = iy.round().to(at::kLong).unsqueeze(1);
    ws = at::ones_like(ix).unsqueeze(1);
  }
  (void)padding;  // already applied to (ix, iy)
  const auto inside = (xs >= 0).logical_and_(xs < Wm).logical_and_(ys >= 0).logical_and_(ys < Hm);
  const auto idx = at::where(inside, (image * Hm + ys) * Wm + xs, image * Hm * Wm);
  const auto contrib = at::where(inside.unsqueeze(-1), ws.unsqueeze(-1) * g, 0);  // (S, corners, C)
  grad_maps.index_put_({idx.reshape({-1})}, contrib.reshape({-1, C}), /*accumulate=*/true);
  return {grad_uvs.to(dt), grad_maps.view(maps.sizes()).to(dt)};
}

}  // namespace texuv
}  // namespace mg
