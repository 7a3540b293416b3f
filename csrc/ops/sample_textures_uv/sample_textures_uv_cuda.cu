// CUDA kernels for sample_textures_uv (contract in sample_textures_uv.h): one thread per slot (the C channels in
// a loop; maps are typically 3 or 4 wide). The backward adds grad_verts_uvs and grad_maps with atomicAdd, or
// (deterministic algorithms) keeps per-slot terms for the ATen reductions of grads_deterministic.
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
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
__global__ void sample_kernel(const Slots<scalar_t> in, scalar_t* __restrict__ out) {
  MG_CUDA_KERNEL_LOOP(s, in.S) { sample_slot<scalar_t, acc_t>(in, s, out + s * in.C); }
}

// grad_uvs / grad_maps null: not accumulated here (the deterministic path); scratch null: not kept.
template <typename scalar_t, typename acc_t>
__global__ void sample_backward_kernel(const Slots<scalar_t> in, const scalar_t* __restrict__ grad,
                                       scalar_t* __restrict__ grad_bary, acc_t* grad_uvs, acc_t* grad_maps,
                                       acc_t* scratch) {
  const int64_t C = in.C;
  MG_CUDA_KERNEL_LOOP(s, in.S) {
    acc_t* gm = grad_maps != nullptr ? grad_maps + (s / in.per_image) * in.Hm * in.Wm * C : nullptr;
    const auto r = slot_backward<scalar_t, acc_t>(
        in, grad, s, gm != nullptr, [&](int64_t t, acc_t val) { atomicAdd(gm + t, val); }, grad_bary + 3 * s);
    if (in.bil && grad_uvs != nullptr) {
      for (int i = 0; i < 3; ++i) {
        const int64_t row = r.rows[i];
        if (row < 0) continue;
        const acc_t w = static_cast<acc_t>(in.bary[3 * s + i]);
        atomicAdd(grad_uvs + 2 * row, w * r.gu);
        atomicAdd(grad_uvs + 2 * row + 1, w * r.gv);
      }
    } else if (!in.bil && gm != nullptr) {
      const int64_t x = nearest_index(r.loc.ix), y = nearest_index(r.loc.iy);
      const scalar_t* go = grad + s * C;
      if (in_map(x, y, in.Wm, in.Hm))
        for (int64_t c = 0; c < C; ++c) atomicAdd(gm + (y * in.Wm + x) * C + c, static_cast<acc_t>(go[c]));
    }
    if (scratch != nullptr) r.store(scratch + s * kScratch);
  }
}

at::Tensor sample_cuda(const at::Tensor& pix_to_face, const at::Tensor& bary, const at::Tensor& faces_uvs,
                       const at::Tensor& verts_uvs, const at::Tensor& maps, c10::string_view mode,
                       c10::string_view padding_mode, bool align_corners) {
  const Call call = prepare(pix_to_face, bary, faces_uvs, verts_uvs, maps, mode, padding_mode, align_corners);
  const c10::cuda::CUDAGuard guard(maps.device());
  auto out = empty_output(call);
  if (out.numel() == 0) return out;
  MG_DISPATCH_FLOATING_TYPES(maps.scalar_type(), "sample_textures_uv_cuda", [&] {
    sample_kernel<scalar_t, mg::acc_t<scalar_t>>
        <<<cuda::num_blocks(call.S), cuda::kThreads, 0, c10::cuda::getCurrentCUDAStream()>>>(
            call.slots<scalar_t>(), out.mutable_data_ptr<scalar_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return out;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> sample_backward_cuda(
    const at::Tensor& grad, const at::Tensor& pix_to_face, const at::Tensor& bary, const at::Tensor& faces_uvs,
    const at::Tensor& verts_uvs, const at::Tensor& maps, c10::string_view mode, c10::string_view padding_mode,
    bool align_corners) {
  const Call call = prepare(pix_to_face, bary, faces_uvs, verts_uvs, maps, mode, padding_mode, align_corners);
  check_grad(grad, pix_to_face, maps);
  const c10::cuda::CUDAGuard guard(maps.device());
  const Grads out = zero_grads(call);
  if (call.S == 0 || call.C == 0) return out.result();
  const auto dt = maps.scalar_type();
  const auto g = grad.to(dt).contiguous();
  const bool deterministic = use_deterministic_path(maps);
  at::Tensor scratch =
      deterministic ? at::empty({call.S, kScratch}, maps.options().dtype(at::toOpMathType(dt))) : at::Tensor();
  if (!deterministic) alert_atomic_reduction("sample_textures_uv_backward_cuda");
  MG_DISPATCH_FLOATING_TYPES(dt, "sample_textures_uv_backward_cuda", [&] {
    using acc_t = mg::acc_t<scalar_t>;
    sample_backward_kernel<scalar_t, acc_t>
        <<<cuda::num_blocks(call.S), cuda::kThreads, 0, c10::cuda::getCurrentCUDAStream()>>>(
            call.slots<scalar_t>(), g.const_data_ptr<scalar_t>(), out.bary.mutable_data_ptr<scalar_t>(),
            deterministic ? nullptr : out.uvs.mutable_data_ptr<acc_t>(),
            deterministic ? nullptr : out.maps.mutable_data_ptr<acc_t>(),
            deterministic ? scratch.mutable_data_ptr<acc_t>() : nullptr);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  if (deterministic) {
    auto [gu, gm] = grads_deterministic(scratch, g, call.p2f, call.bary, call.faces_uvs, call.verts_uvs, call.maps,
                                        call.bil, call.pad);
    return {out.bary, gu, gm};
  }
  return out.result();
}

}  // namespace
}  // namespace texuv
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CUDA, m) {
  m.impl("sample_textures_uv", &mg::texuv::sample_cuda);
  m.impl("sample_textures_uv_backward", &mg::texuv::sample_backward_cuda);
}
