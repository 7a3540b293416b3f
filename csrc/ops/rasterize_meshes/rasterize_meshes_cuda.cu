// CUDA kernels for rasterize_meshes (contract in rasterize_meshes.h): the tiles come from the shared ATen
// binning; one thread per pixel walks its tile's faces. Backward: one thread per pixel slot, atomicAdd into the
// face-vertex gradients, or (deterministic algorithms) one row per slot summed by mesh_grads_from_slots.
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/full.h>
#include <ATen/ops/zeros.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include <tuple>

#include "../../common/cuda_utils.cuh"
#include "../../common/dispatch.h"
#include "rasterize_meshes.h"

namespace mg {
namespace raster {
namespace {

// Face vertices are read in their dtype (scalar_t); everything is computed, and the rows are held, in acc_t.
template <typename scalar_t, typename acc_t>
__global__ void rasterize_meshes_kernel(const scalar_t* __restrict__ fv, const acc_t* __restrict__ zkey,
                                        const int64_t* __restrict__ start, const int64_t* __restrict__ items,
                                        int64_t N, int64_t H, int64_t W, int64_t K, int64_t T, int64_t tiles_x,
                                        int64_t tiles_y, acc_t blur, bool persp, bool clip, bool cull,
                                        int64_t* p2f, acc_t* zbuf, acc_t* bary, acc_t* dists) {
  MG_CUDA_KERNEL_LOOP(pix, N * H * W) {
    const int64_t x = pix % W, y = (pix / W) % H, n = pix / (H * W);
    const int64_t t = (n * tiles_y + y / T) * tiles_x + x / T;
    const acc_t xf = pixel_ndc<acc_t>(W - 1 - x, W, H), yf = pixel_ndc<acc_t>(H - 1 - y, H, W);
    raster_mesh_pixel<scalar_t, acc_t>(fv, zkey, items, start[t], start[t + 1], xf, yf, blur, persp, clip, cull, K,
                                       p2f + pix * K, zbuf + pix * K, bary + 3 * pix * K, dists + pix * K);
  }
}

template <typename scalar_t, typename acc_t>
__global__ void rasterize_meshes_backward_kernel(const scalar_t* __restrict__ fv, const int64_t* __restrict__ p2f,
                                                 const acc_t* __restrict__ gz, const acc_t* __restrict__ gb,
                                                 const acc_t* __restrict__ gd, int64_t F, int64_t N, int64_t H,
                                                 int64_t W, int64_t K, bool persp, bool clip, acc_t* grad,
                                                 acc_t* contrib) {
  MG_CUDA_KERNEL_LOOP(s, N * H * W * K) {
    const int64_t f = p2f[s];
    if (f < 0 || f >= F) continue;
    const int64_t pix = s / K;
    const int64_t x = pix % W, y = (pix / W) % H;
    const acc_t xf = pixel_ndc<acc_t>(W - 1 - x, W, H), yf = pixel_ndc<acc_t>(H - 1 - y, H, W);
    acc_t g[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
    const acc_t gbary[3] = {gb[3 * s], gb[3 * s + 1], gb[3 * s + 2]};
    raster_face_backward<scalar_t, acc_t>(fv + 9 * f, xf, yf, persp, clip, gz[s], gbary, gd[s], g);
    if (contrib != nullptr) {  // deterministic: the slot's row, reduced by mesh_grads_from_slots
      for (int i = 0; i < 9; ++i) contrib[9 * s + i] = g[i];
    } else {
      for (int i = 0; i < 9; ++i) atomicAdd(grad + 9 * f + i, g[i]);
    }
  }
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> rasterize_meshes_cuda(
    const at::Tensor& face_verts, const at::Tensor& mesh_first, const at::Tensor& mesh_size, int64_t H, int64_t W,
    double blur_radius, int64_t K, std::optional<int64_t> bin_size, bool perspective_correct, bool clip_barycentric_coords,
    bool cull_backfaces) {
  check_mesh_inputs(face_verts, mesh_first, mesh_size, H, W, K, blur_radius, bin_size);
  const c10::cuda::CUDAGuard guard(face_verts.device());
  const int64_t N = mesh_first.size(0);
  // rows built in the accumulation dtype (float32 for float16 / bfloat16), converted at the end
  const auto dt = face_verts.scalar_type();
  const auto acc_opts = face_verts.options().dtype(at::toOpMathType(dt));
  auto p2f = at::full({N, H, W, K}, -1, face_verts.options().dtype(at::kLong));
  auto zbuf = at::full({N, H, W, K}, -1, acc_opts);
  auto bary = at::full({N, H, W, K, 3}, -1, acc_opts);
  auto dists = at::full({N, H, W, K}, -1, acc_opts);
  if (N > 0 && face_verts.size(0) > 0) {
    const auto fv = face_verts.contiguous();
    const Bins b = build_face_bins(fv, mesh_first, mesh_size, H, W, blur_radius, bin_size, cull_backfaces,
                                   perspective_correct);
    MG_DISPATCH_FLOATING_TYPES(dt, "rasterize_meshes_cuda", [&] {
      using acc_t = mg::acc_t<scalar_t>;
      rasterize_meshes_kernel<scalar_t, acc_t><<<cuda::num_blocks(N * H * W), cuda::kThreads, 0,
                                                 c10::cuda::getCurrentCUDAStream()>>>(
          fv.const_data_ptr<scalar_t>(), b.key.const_data_ptr<acc_t>(), b.bin_start.const_data_ptr<int64_t>(),
          b.bin_items.const_data_ptr<int64_t>(), N, H, W, K, b.bin_size, b.tiles_x, b.tiles_y,
          static_cast<acc_t>(blur_radius), perspective_correct, clip_barycentric_coords, cull_backfaces,
          p2f.mutable_data_ptr<int64_t>(), zbuf.mutable_data_ptr<acc_t>(), bary.mutable_data_ptr<acc_t>(),
          dists.mutable_data_ptr<acc_t>());
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  }
  return {p2f, zbuf.to(dt), bary.to(dt), dists.to(dt)};  // no copy for float32 / float64
}

at::Tensor rasterize_meshes_backward_cuda(const at::Tensor& face_verts, const at::Tensor& pix_to_face,
                                          const at::Tensor& grad_zbuf, const at::Tensor& grad_bary,
                                          const at::Tensor& grad_dists, bool perspective_correct,
                                          bool clip_barycentric_coords) {
  check_mesh_backward_inputs(face_verts, pix_to_face, grad_zbuf, grad_bary, grad_dists);
  const c10::cuda::CUDAGuard guard(face_verts.device());
  const int64_t F = face_verts.size(0), N = pix_to_face.size(0), H = pix_to_face.size(1), W = pix_to_face.size(2),
                K = pix_to_face.size(3);
  const auto dt = face_verts.scalar_type();
  const auto acc_opts = face_verts.options().dtype(at::toOpMathType(dt));
  if (F == 0 || pix_to_face.numel() == 0) return at::zeros({F, 3, 3}, face_verts.options());
  const auto fv = face_verts.contiguous();
  const auto p2f = pix_to_face.contiguous();
  // grads read, terms formed and summed in the accumulation dtype (float32 for the half types)
  const auto gz = grad_zbuf.to(acc_opts.dtype()).contiguous();
  const auto gb = grad_bary.to(acc_opts.dtype()).contiguous();
  const auto gd = grad_dists.to(acc_opts.dtype()).contiguous();
  // atomicAdd into grad, or (deterministic algorithms) per-slot rows summed by the ATen reduction after the kernel
  const bool deterministic = use_deterministic_path(face_verts);
  auto grad = deterministic ? at::Tensor() : at::zeros({F, 3, 3}, acc_opts);
  const at::Tensor contrib = deterministic ? at::zeros({p2f.numel(), 9}, acc_opts) : at::Tensor();
  if (!deterministic) alert_atomic_reduction("rasterize_meshes_backward_cuda");
  MG_DISPATCH_FLOATING_TYPES(dt, "rasterize_meshes_backward_cuda", [&] {
    using acc_t = mg::acc_t<scalar_t>;
    rasterize_meshes_backward_kernel<scalar_t, acc_t><<<cuda::num_blocks(p2f.numel()), cuda::kThreads, 0,
                                                        c10::cuda::getCurrentCUDAStream()>>>(
        fv.const_data_ptr<scalar_t>(), p2f.const_data_ptr<int64_t>(), gz.const_data_ptr<acc_t>(),
        gb.const_data_ptr<acc_t>(), gd.const_data_ptr<acc_t>(), F, N, H, W, K, perspective_correct,
        clip_barycentric_coords, deterministic ? nullptr : grad.mutable_data_ptr<acc_t>(),
        deterministic ? contrib.mutable_data_ptr<acc_t>() : nullptr);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  if (deterministic) return mesh_grads_from_slots(p2f, contrib, F, dt);
  return grad.to(dt);
}

}  // namespace
}  // namespace raster
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CUDA, m) {
  m.impl("rasterize_meshes", &mg::raster::rasterize_meshes_cuda);
  m.impl("rasterize_meshes_backward", &mg::raster::rasterize_meshes_backward_cuda);
}
