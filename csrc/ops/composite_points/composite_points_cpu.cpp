// CPU kernels for composite_points (contract in composite_points.h). Forward: parallel over pixels. Backward:
// per-pixel alpha gradients in parallel, then the feature gradients with each thread owning a range of points
// (every thread scans the slots and adds only its own points: no atomics, no per-thread P x C buffers).
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/zeros.h>
#include <torch/library.h>

#include "../../common/cpu_pool.h"

#include <algorithm>
#include <tuple>
#include <vector>

#include "../../common/dispatch.h"
#include "composite_points.h"

namespace mg {
namespace composite {
namespace {

at::Tensor composite_points_cpu(const at::Tensor& features, const at::Tensor& alphas, const at::Tensor& idx,
                                c10::string_view mode_name) {
  check_inputs(features, alphas, idx);
  const int mode = mode_code(mode_name);
  const int64_t N = alphas.size(0), H = alphas.size(1), W = alphas.size(2), K = alphas.size(3);
  const int64_t P = features.size(0), C = features.size(1);
  auto out = cpu::pooled_empty({N, C, H, W}, features.options());  // warm pages from the reuse pool
  const int64_t pixels = N * H * W, HW = H * W;
  if (out.numel() == 0) return out;
  const auto sa = alphas.strides(), si = idx.strides(), sf = features.strides();
  MG_DISPATCH_FLOATING_TYPES(features.scalar_type(), "composite_points_cpu", [&] {
    using acc_t = mg::acc_t<scalar_t>;
    const scalar_t* fp = features.const_data_ptr<scalar_t>();
    const scalar_t* ap = alphas.const_data_ptr<scalar_t>();
    const int64_t* ip = idx.const_data_ptr<int64_t>();
    scalar_t* op = out.mutable_data_ptr<scalar_t>();
    at::parallel_for(0, pixels, 256, [&](int64_t lo, int64_t hi) {
      std::vector<acc_t> acc(C), w(K);
      for (int64_t pix = lo; pix < hi; ++pix) {
        const int64_t n = pix / HW, y = (pix / W) % H, x = pix % W;
        const PixelSlots<scalar_t> s{ap + n * sa[0] + y * sa[1] + x * sa[2], sa[3], ip + n * si[0] + y * si[1] + x * si[2],
                                     si[3], K, P};
        pixel_weights<scalar_t, acc_t>(s, mode, w.data(), 1);
        std::fill(acc.begin(), acc.end(), acc_t(0));
        for (int64_t k = 0; k < K; ++k) {
          const int64_t p = s.point(k);
          if (p < 0 || w[k] == acc_t(0)) continue;
          const scalar_t* f = fp + p * sf[0];
          const acc_t wk = w[k];
          if (sf[1] == 1) {
            for (int64_t c = 0; c < C; ++c) acc[c] += wk * static_cast<acc_t>(f[c]);
          } else {
            for (int64_t c = 0; c < C; ++c) acc[c] += wk * static_cast<acc_t>(f[c * sf[1]]);
          }
        }
        scalar_t* o = op + n * C * HW + y * W + x;
        for (int64_t c = 0; c < C; ++c) o[c * HW] = static_cast<scalar_t>(acc[c]);
      }
    });
  });
  return out;
}

std::tuple<at::Tensor, at::Tensor> composite_points_backward_cpu(const at::Tensor& grad_out, const at::Tensor& features,
                                                                 const at::Tensor& alphas, const at::Tensor& idx,
                                                                 c10::string_view mode_name) {
  check_inputs(features, alphas, idx);
  const int mode = mode_code(mode_name);
  const int64_t N = alphas.size(0), H = alphas.size(1), W = alphas.size(2), K = alphas.size(3);
  const int64_t P = features.size(0), C = features.size(1);
  check_grad_out(grad_out, features, alphas);
  // gradients summed in the accumulation dtype (float32 for float16 / bfloat16), converted at the end
  const auto dt = features.scalar_type();
  const auto acc_opts = features.options().dtype(at::toOpMathType(dt));
  auto grad_f = cpu::pooled_empty({P, C}, acc_opts).zero_();
  auto grad_a = cpu::pooled_empty({N, H, W, K}, acc_opts).zero_();
  const int64_t pixels = N * H * W, HW = H * W;
  if (pixels == 0 || K == 0) return {grad_f.to(dt), grad_a.to(dt)};
  // grad_out is read through its strides (no (N, H, W, C) copy): each pixel's C values are gathered once into a
  // small buffer, when the pixel holds a point that needs them.
  const auto go = grad_out.to(features.scalar_type());
  const auto sa = alphas.strides(), si = idx.strides(), sf = features.strides(), sg = go.strides();
  MG_DISPATCH_FLOATING_TYPES(features.scalar_type(), "composite_points_backward_cpu", [&] {
    using acc_t = mg::acc_t<scalar_t>;
    const scalar_t* fp = features.const_data_ptr<scalar_t>();
    const scalar_t* ap = alphas.const_data_ptr<scalar_t>();
    const int64_t* ip = idx.const_data_ptr<int64_t>();
    const scalar_t* gp = go.const_data_ptr<scalar_t>();
    acc_t* gap = grad_a.mutable_data_ptr<acc_t>();
    const auto load_grad = [&](int64_t pix, acc_t* g) {
      const int64_t n = pix / HW, y = (pix / W) % H, x = pix % W;
      const scalar_t* src = gp + n * sg[0] + y * sg[2] + x * sg[3];
      for (int64_t c = 0; c < C; ++c) g[c] = static_cast<acc_t>(src[c * sg[1]]);
    };
    std::vector<acc_t> wbuf(static_cast<size_t>(pixels * K));
    at::parallel_for(0, pixels, 256, [&](int64_t lo, int64_t hi) {
      std::vector<acc_t> gbuf(C);
      acc_t* g = gbuf.data();
      for (int64_t pix = lo; pix < hi; ++pix) {
        const int64_t n = pix / HW, y = (pix / W) % H, x = pix % W;
        const PixelSlots<scalar_t> s{ap + n * sa[0] + y * sa[1] + x * sa[2], sa[3], ip + n * si[0] + y * si[1] + x * si[2],
                                     si[3], K, P};
        acc_t* w = wbuf.data() + pix * K;
        const acc_t total = pixel_weights<scalar_t, acc_t>(s, mode, w, 1);
        bool any = false;
        for (int64_t k = 0; k < K && !any; ++k) any = s.point(k) >= 0;
        if (any) load_grad(pix, g);
        acc_t* ga = gap + pix * K;
        for (int64_t k = 0; k < K; ++k) {
          const int64_t p = s.point(k);
          acc_t G = 0;
          if (p >= 0) {
            const scalar_t* f = fp + p * sf[0];
            for (int64_t c = 0; c < C; ++c) G += g[c] * static_cast<acc_t>(f[c * sf[1]]);
          }
          ga[k] = G;
        }
        pixel_alpha_grads<scalar_t, acc_t>(s, mode, total, w, 1, ga, 1);
      }
    });
    if (use_deterministic_path(features)) {  // MESHGRAPH_DEVICE_PATH=1: the CUDA side's path
      const auto w = at::from_blob(wbuf.data(), {pixels * K}, acc_opts);
      grad_f = grad_features_deterministic(go, idx, w, P);
      return;
    }
    acc_t* gfp = grad_f.mutable_data_ptr<acc_t>();
    const int64_t parts = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), P));
    at::parallel_for(0, parts, 1, [&](int64_t t0, int64_t t1) {
      std::vector<acc_t> gbuf(C);
      acc_t* g = gbuf.data();
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t p0 = P * t / parts, p1 = P * (t + 1) / parts;
        for (int64_t pix = 0; pix < pixels; ++pix) {
          const int64_t n = pix / HW, y = (pix / W) % H, x = pix % W;
          const int64_t* id = ip + n * si[0] + y * si[1] + x * si[2];
          bool loaded = false;
          for (int64_t k = 0; k < K; ++k) {
            const int64_t p = id[k * si[3]];
            if (p < p0 || p >= p1) continue;
            const acc_t wk = wbuf[pix * K + k];
            if (!loaded) {
              load_grad(pix, g);
              loaded = true;
            }
            acc_t* gf = gfp + p * C;
            for (int64_t c = 0; c < C; ++c) gf[c] += wk * g[c];
          }
        }
      }
    });
  });
  return {grad_f.to(dt), grad_a.to(dt)};  // no copy for float32 / float64
}

}  // namespace
}  // namespace composite
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CPU, m) {
  m.impl("composite_points", &mg::composite::composite_points_cpu);
  m.impl("composite_points_backward", &mg::composite::composite_points_backward_cpu);
}
