// CPU kernels for rasterize_meshes (contract in rasterize_meshes.h): parallel over the pixel tiles of all
// images; each pixel walks its tile's faces in order of their nearest vertex. Backward: per-chunk gradient
// buffers (at most ~64 MiB of them), summed.
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/full.h>
#include <ATen/ops/zeros.h>
#include <torch/library.h>

#include "../../common/cpu_pool.h"

#include <algorithm>
#include <cmath>
#include <tuple>
#include <vector>

#include "../../common/cpu_scatter.h"
#include "../../common/dispatch.h"
#include "rasterize_meshes.h"

namespace mg {
namespace raster {
namespace {

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> rasterize_meshes_cpu(
    const at::Tensor& face_verts, const at::Tensor& mesh_first, const at::Tensor& mesh_size, int64_t H, int64_t W,
    double blur_radius, int64_t K, std::optional<int64_t> bin_size, bool perspective_correct, bool clip_barycentric_coords,
    bool cull_backfaces) {
  check_mesh_inputs(face_verts, mesh_first, mesh_size, H, W, K, blur_radius, bin_size);
  const int64_t N = mesh_first.size(0);
  // The rows are built in the accumulation dtype (float32 for float16 / bfloat16) and converted at the end; large
  // outputs come warm from the reuse pool (csrc/common/cpu_pool.h).
  const auto acc_opts = face_verts.options().dtype(at::toOpMathType(face_verts.scalar_type()));
  auto p2f = cpu::pooled_empty({N, H, W, K}, face_verts.options().dtype(at::kLong)).fill_(-1);
  auto zbuf = cpu::pooled_empty({N, H, W, K}, acc_opts).fill_(-1);
  auto bary = cpu::pooled_empty({N, H, W, K, 3}, acc_opts).fill_(-1);
  auto dists = cpu::pooled_empty({N, H, W, K}, acc_opts).fill_(-1);
  const auto result = [&]() -> std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> {
    const auto dt = face_verts.scalar_type();
    return {p2f, zbuf.to(dt), bary.to(dt), dists.to(dt)};  // no copy for float32 / float64
  };
  if (N == 0 || face_verts.size(0) == 0) return result();
  const auto fv = face_verts.contiguous();
  const Bins b = build_face_bins(fv, mesh_first, mesh_size, H, W, blur_radius, bin_size, cull_backfaces,
                                     perspective_correct);
  const int64_t T = b.bin_size, tiles = b.tiles_x * b.tiles_y;
  const int64_t* start = b.bin_start.const_data_ptr<int64_t>();
  const int64_t* items = b.bin_items.const_data_ptr<int64_t>();
  MG_DISPATCH_FLOATING_TYPES(fv.scalar_type(), "rasterize_meshes_cpu", [&] {
    using acc_t = mg::acc_t<scalar_t>;
    const scalar_t* fp = fv.const_data_ptr<scalar_t>();
    int64_t* pp = p2f.mutable_data_ptr<int64_t>();
    acc_t* zb = zbuf.mutable_data_ptr<acc_t>();
    acc_t* bp = bary.mutable_data_ptr<acc_t>();
    acc_t* dp = dists.mutable_data_ptr<acc_t>();
    const acc_t blur = static_cast<acc_t>(blur_radius);
    if (device_path_forced()) {
      // the CUDA kernel's pixel-major walk (raster_mesh_pixel), for testing that logic on the CPU
      const acc_t* kp = b.key.const_data_ptr<acc_t>();
      at::parallel_for(0, N * H * W, 64, [&](int64_t lo, int64_t hi) {
        for (int64_t pix = lo; pix < hi; ++pix) {
          const int64_t x = pix % W, y = (pix / W) % H, n = pix / (H * W);
          const int64_t t = (n * b.tiles_y + y / T) * b.tiles_x + x / T;
          const acc_t xf = pixel_ndc<acc_t>(W - 1 - x, W, H), yf = pixel_ndc<acc_t>(H - 1 - y, H, W);
          raster_mesh_pixel<scalar_t, acc_t>(fp, kp, items, start[t], start[t + 1], xf, yf, blur, perspective_correct,
                                             clip_barycentric_coords, cull_backfaces, K, pp + pix * K, zb + pix * K,
                                             bp + 3 * pix * K, dp + pix * K);
        }
      });
      return;
    }
    const acc_t margin = std::sqrt(blur);
    const int64_t* box = b.box.const_data_ptr<int64_t>();
    // Face-major inside each tile: every face of the tile's list visits only the pixels of its own box, and
    // insert_hit keeps each pixel's row sorted by (depth, face) -- the same rows as the pixel-major walk of the
    // CUDA kernel (the K smallest (depth, face) pairs do not depend on the visiting order), at a cost that
    // grows with the pixels each face covers instead of pixels x faces per tile.
    at::parallel_for(0, N * tiles, 1, [&](int64_t lo, int64_t hi) {
      std::vector<int64_t> count(T * T);
      FaceHit<acc_t> h;
      for (int64_t t = lo; t < hi; ++t) {
        const int64_t begin = start[t], end = start[t + 1];
        if (begin == end) continue;
        const int64_t n = t / tiles, tile = t - n * tiles;
        const int64_t ty = tile / b.tiles_x, tx = tile - ty * b.tiles_x;
        const int64_t y_lo = ty * T, y_hi = std::min(H, (ty + 1) * T) - 1;
        const int64_t x_lo = tx * T, x_hi = std::min(W, (tx + 1) * T) - 1;
        std::fill(count.begin(), count.end(), 0);
        for (int64_t it = begin; it < end; ++it) {
          const int64_t f = items[it];
          const scalar_t* v = fp + 9 * f;
          const int64_t* bx = box + 4 * f;  // the face's pixel box, as binned
          const int64_t c0 = bx[0], c1 = bx[1], r0 = bx[2], r1 = bx[3];
          for (int64_t y = std::max(r0, y_lo); y <= std::min(r1, y_hi); ++y) {
            const acc_t yf = pixel_ndc<acc_t>(H - 1 - y, H, W);
            for (int64_t x = std::max(c0, x_lo); x <= std::min(c1, x_hi); ++x) {
              const acc_t xf = pixel_ndc<acc_t>(W - 1 - x, W, H);
              if (!raster_face<scalar_t, acc_t>(v, xf, yf, blur, margin, perspective_correct, clip_barycentric_coords,
                                                cull_backfaces, h))
                continue;
              const int64_t o = ((n * H + y) * W + x) * K;
              int64_t& c = count[(y - y_lo) * T + (x - x_lo)];
              c = insert_hit<acc_t>(c, K, f, h, pp + o, zb + o, bp + 3 * o, dp + o);
            }
          }
        }
      }
    });
  });
  return result();
}

at::Tensor rasterize_meshes_backward_cpu(const at::Tensor& face_verts, const at::Tensor& pix_to_face,
                                         const at::Tensor& grad_zbuf, const at::Tensor& grad_bary,
                                         const at::Tensor& grad_dists, bool perspective_correct,
                                         bool clip_barycentric_coords) {
  check_mesh_backward_inputs(face_verts, pix_to_face, grad_zbuf, grad_bary, grad_dists);
  const int64_t F = face_verts.size(0), N = pix_to_face.size(0), H = pix_to_face.size(1), W = pix_to_face.size(2),
                K = pix_to_face.size(3);
  auto grad = at::zeros({F, 3, 3}, face_verts.options());
  const int64_t pixels = N * H * W;
  if (F == 0 || pixels == 0) return grad;
  const auto fv = face_verts.contiguous();
  const auto p2f = pix_to_face.contiguous();
  // grads read in the accumulation dtype (float32 for the half types), the terms summed in it
  const auto acc_dtype = at::toOpMathType(fv.scalar_type());
  const auto gz = grad_zbuf.to(acc_dtype).contiguous();
  const auto gb = grad_bary.to(acc_dtype).contiguous();
  const auto gd = grad_dists.to(acc_dtype).contiguous();
  const bool deterministic = use_deterministic_path(face_verts);
  const at::Tensor contrib = deterministic ? at::zeros({pixels * K, 9}, fv.options().dtype(acc_dtype)) : at::Tensor();
  MG_DISPATCH_FLOATING_TYPES(fv.scalar_type(), "rasterize_meshes_backward_cpu", [&] {
    using acc_t = mg::acc_t<scalar_t>;
    const scalar_t* fp = fv.const_data_ptr<scalar_t>();
    const int64_t* pp = p2f.const_data_ptr<int64_t>();
    const acc_t* gzp = gz.const_data_ptr<acc_t>();
    const acc_t* gbp = gb.const_data_ptr<acc_t>();
    const acc_t* gdp = gd.const_data_ptr<acc_t>();
    if (deterministic) {  // MESHGRAPH_DEVICE_PATH=1: the CUDA side's per-slot terms and ATen reduction
      acc_t* cp = contrib.mutable_data_ptr<acc_t>();
      at::parallel_for(0, pixels * K, 1024, [&](int64_t lo, int64_t hi) {
        for (int64_t s = lo; s < hi; ++s) {
          const int64_t f = pp[s];
          if (f < 0 || f >= F) continue;
          const int64_t pix = s / K, x = pix % W, y = (pix / W) % H;
          const acc_t xf = pixel_ndc<acc_t>(W - 1 - x, W, H), yf = pixel_ndc<acc_t>(H - 1 - y, H, W);
          const acc_t gbary[3] = {gbp[3 * s], gbp[3 * s + 1], gbp[3 * s + 2]};
          raster_face_backward<scalar_t, acc_t>(fp + 9 * f, xf, yf, perspective_correct, clip_barycentric_coords,
                                                gzp[s], gbary, gdp[s], cp + 9 * s);
        }
      });
      return;
    }
    chunked_scatter_add<acc_t>(pixels, F, 9, grad.mutable_data_ptr<scalar_t>(), [&](int64_t pix, acc_t* g) {
      const int64_t x = pix % W, y = (pix / W) % H;
      const acc_t xf = pixel_ndc<acc_t>(W - 1 - x, W, H), yf = pixel_ndc<acc_t>(H - 1 - y, H, W);
      for (int64_t k = 0; k < K; ++k) {
        const int64_t s = pix * K + k;
        const int64_t f = pp[s];
        if (f < 0 || f >= F) continue;
        const acc_t gbary[3] = {gbp[3 * s], gbp[3 * s + 1], gbp[3 * s + 2]};
        raster_face_backward<scalar_t, acc_t>(fp + 9 * f, xf, yf, perspective_correct, clip_barycentric_coords,
                                              gzp[s], gbary, gdp[s], g + 9 * f);
      }
    });
  });
  if (deterministic) return mesh_grads_from_slots(p2f, contrib, F, fv.scalar_type());
  return grad;
}

}  // namespace
}  // namespace raster
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CPU, m) {
  m.impl("rasterize_meshes", &mg::raster::rasterize_meshes_cpu);
  m.impl("rasterize_meshes_backward", &mg::raster::rasterize_meshes_backward_cpu);
}
