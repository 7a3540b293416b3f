// CPU kernels for interpolate_face_attributes (contract in interpolate_face_attributes.h). Forward and
// grad_bary: parallel over slots. grad_values: each thread owns a range of value rows and scans all slots
// (no atomics, no per-thread copies of values).
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <torch/library.h>

#include "../../common/cpu_pool.h"

#include <algorithm>
#include <tuple>
#include <vector>

#include "../../common/dispatch.h"
#include "interpolate_face_attributes.h"

namespace mg {
namespace interp {
namespace {

std::vector<int64_t> out_shape(const at::Tensor& pix_to_face, int64_t D) {
  std::vector<int64_t> shape(pix_to_face.sizes().begin(), pix_to_face.sizes().end());
  shape.push_back(D);
  return shape;
}

at::Tensor interpolate_cpu(const at::Tensor& pix_to_face, const at::Tensor& bary, const at::Tensor& values,
                           const c10::optional<at::Tensor>& faces) {
  check_inputs(pix_to_face, bary, values, faces);
  const int64_t D = values.size(-1), F = num_faces(values, faces), S = pix_to_face.numel();
  const int64_t rows = num_value_rows(values);
  auto out = cpu::pooled_empty(out_shape(pix_to_face, D), values.options());  // every element is written
  if (out.numel() == 0) return out;
  const Contiguous in = contiguous_inputs(pix_to_face, bary, values, faces);
  const at::Tensor &p2f = in.p2f, &b = in.bary, &v = in.values, &fc = in.faces;
  MG_DISPATCH_FLOATING_TYPES(v.scalar_type(), "interpolate_face_attributes_cpu", [&] {
    using acc_t = mg::acc_t<scalar_t>;
    const int64_t* pp = p2f.const_data_ptr<int64_t>();
    const scalar_t* bp = b.const_data_ptr<scalar_t>();
    const scalar_t* vp = v.const_data_ptr<scalar_t>();
    const int64_t* fp = fc.defined() ? fc.const_data_ptr<int64_t>() : nullptr;
    scalar_t* op = out.mutable_data_ptr<scalar_t>();
    at::parallel_for(0, S, 1024, [&](int64_t lo, int64_t hi) {
      for (int64_t s = lo; s < hi; ++s) {
        scalar_t* o = op + s * D;
        const int64_t f = pp[s];
        if (f < 0 || f >= F) {
          std::fill(o, o + D, scalar_t(0));
          continue;
        }
        const int64_t i0 = value_row(fp, f, 0, rows), i1 = value_row(fp, f, 1, rows), i2 = value_row(fp, f, 2, rows);
        const acc_t b0 = static_cast<acc_t>(bp[3 * s]), b1 = static_cast<acc_t>(bp[3 * s + 1]),
                    b2 = static_cast<acc_t>(bp[3 * s + 2]);
        if (i0 < 0 || i1 < 0 || i2 < 0) {  // a corner outside values (unreachable through check_inputs) adds 0
          for (int64_t d = 0; d < D; ++d) {
            acc_t acc = 0;
            for (int i = 0; i < 3; ++i) {
              const int64_t r = value_row(fp, f, i, rows);
              if (r >= 0) acc += static_cast<acc_t>(bp[3 * s + i]) * static_cast<acc_t>(vp[r * D + d]);
            }
            o[d] = static_cast<scalar_t>(acc);
          }
          continue;
        }
        const scalar_t* r0 = vp + i0 * D;
        const scalar_t* r1 = vp + i1 * D;
        const scalar_t* r2 = vp + i2 * D;
        for (int64_t d = 0; d < D; ++d)
          o[d] = static_cast<scalar_t>(b0 * static_cast<acc_t>(r0[d]) + b1 * static_cast<acc_t>(r1[d]) +
                                       b2 * static_cast<acc_t>(r2[d]));
      }
    });
  });
  return out;
}

std::tuple<at::Tensor, at::Tensor> interpolate_backward_cpu(const at::Tensor& grad, const at::Tensor& pix_to_face,
                                                            const at::Tensor& bary, const at::Tensor& values,
                                                            const c10::optional<at::Tensor>& faces) {
  check_inputs(pix_to_face, bary, values, faces);
  check_grad(grad, pix_to_face, values);
  const int64_t D = values.size(-1), F = num_faces(values, faces), S = pix_to_face.numel();
  const int64_t rows = num_value_rows(values);
  const auto dt = values.scalar_type();
  auto grad_bary = at::zeros(bary.sizes(), bary.options());
  // grad_values summed in the accumulation dtype (float32 for float16 / bfloat16), converted at the end
  auto grad_values = at::zeros(values.sizes(), values.options().dtype(at::toOpMathType(dt)));
  if (S == 0 || D == 0) return {grad_bary, grad_values.to(dt)};
  const auto g = grad.to(dt).contiguous();
  const Contiguous in = contiguous_inputs(pix_to_face, bary, values, faces);
  const at::Tensor &p2f = in.p2f, &b = in.bary, &v = in.values, &fc = in.faces;
  const bool deterministic = use_deterministic_path(values);  // MESHGRAPH_DEVICE_PATH=1: the CUDA side's path
  MG_DISPATCH_FLOATING_TYPES(v.scalar_type(), "interpolate_face_attributes_backward_cpu", [&] {
    using acc_t = mg::acc_t<scalar_t>;
    const scalar_t* gp = g.const_data_ptr<scalar_t>();
    const int64_t* pp = p2f.const_data_ptr<int64_t>();
    const scalar_t* bp = b.const_data_ptr<scalar_t>();
    const scalar_t* vp = v.const_data_ptr<scalar_t>();
    const int64_t* fp = fc.defined() ? fc.const_data_ptr<int64_t>() : nullptr;
    scalar_t* gbp = grad_bary.mutable_data_ptr<scalar_t>();
    acc_t* gvp = grad_values.mutable_data_ptr<acc_t>();
    at::parallel_for(0, S, 1024, [&](int64_t lo, int64_t hi) {
      for (int64_t s = lo; s < hi; ++s) {
        const int64_t f = pp[s];
        if (f < 0 || f >= F) continue;
        for (int i = 0; i < 3; ++i) {
          const int64_t row = value_row(fp, f, i, rows);
          if (row < 0) continue;
          const scalar_t* r = vp + row * D;
          acc_t acc = 0;
          for (int64_t d = 0; d < D; ++d) acc += static_cast<acc_t>(gp[s * D + d]) * static_cast<acc_t>(r[d]);
          gbp[3 * s + i] = static_cast<scalar_t>(acc);
        }
      }
    });
    if (deterministic) return;  // grad_values from the ATen reduction below
    const int64_t parts = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), rows));
    at::parallel_for(0, parts, 1, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t r0 = rows * t / parts, r1 = rows * (t + 1) / parts;
        for (int64_t s = 0; s < S; ++s) {
          const int64_t f = pp[s];
          if (f < 0 || f >= F) continue;
          for (int i = 0; i < 3; ++i) {
            const int64_t row = value_row(fp, f, i, rows);
            if (row < r0 || row >= r1) continue;  // -1 (outside values) is in no range
            const acc_t w = static_cast<acc_t>(bp[3 * s + i]);
            acc_t* o = gvp + row * D;
            for (int64_t d = 0; d < D; ++d) o[d] += w * static_cast<acc_t>(gp[s * D + d]);
          }
        }
      }
    });
  });
  if (deterministic) return {grad_bary, grad_values_deterministic(g, p2f, b, v, faces)};
  return {grad_bary, grad_values.to(dt)};  // no copy for float32 / float64
}

}  // namespace
}  // namespace interp
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CPU, m) {
  m.impl("interpolate_face_attributes", &mg::interp::interpolate_cpu);
  m.impl("interpolate_face_attributes_backward", &mg::interp::interpolate_backward_cpu);
}
