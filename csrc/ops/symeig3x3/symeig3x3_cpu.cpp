// CPU kernels for symeig3x3 (contract in symeig3x3.h): parallel over matrices, one matrix per iteration with the
// shared C10_HOST_DEVICE solve / backward of symeig3x3.h (bit-identical to the CUDA kernels: no FP contraction).
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <limits>
#include <tuple>
#include <vector>

#include "../../common/dispatch.h"
#include "symeig3x3.h"

namespace mg {
namespace symeig {
namespace {

std::vector<int64_t> batch_shape(const at::Tensor& t, int64_t trailing) {
  return std::vector<int64_t>(t.sizes().begin(), t.sizes().end() - trailing);
}

std::tuple<at::Tensor, at::Tensor> symeig3x3_cpu(const at::Tensor& input) {
  check_input(input);
  auto shape = batch_shape(input, 2);
  const int64_t B = c10::multiply_integers(shape);
  const auto a = input.reshape({B, 9}).contiguous();
  auto v = at::empty({B, 3, 3}, input.options());
  auto w = at::empty({B, 3}, input.options());
  MG_DISPATCH_FLOATING_TYPES(input.scalar_type(), "symeig3x3_cpu", [&] {
    using acc_t = mg::acc_t<scalar_t>;
    const scalar_t* ap = a.const_data_ptr<scalar_t>();
    scalar_t* wp = w.mutable_data_ptr<scalar_t>();
    scalar_t* vp = v.mutable_data_ptr<scalar_t>();
    at::parallel_for(0, B, 2048, [&](int64_t lo, int64_t hi) {
      for (int64_t b = lo; b < hi; ++b) {
        acc_t m[9], ww[3], vv[3][3];
        for (int i = 0; i < 9; ++i) m[i] = static_cast<acc_t>(ap[9 * b + i]);
        solve<acc_t>(m, ww, vv);
        for (int i = 0; i < 3; ++i) {
          wp[3 * b + i] = static_cast<scalar_t>(ww[i]);
          for (int j = 0; j < 3; ++j) vp[9 * b + 3 * i + j] = static_cast<scalar_t>(vv[i][j]);
        }
      }
    });
  });
  shape.push_back(3);
  auto w_out = w.view(shape);
  shape.push_back(3);
  return {w_out, v.view(shape)};
}

at::Tensor symeig3x3_backward_cpu(const c10::optional<at::Tensor>& grad_w, const c10::optional<at::Tensor>& grad_v,
                                  const at::Tensor& w, const at::Tensor& v) {
  check_backward(grad_w, grad_v, w, v);
  const int64_t B = v.numel() / 9;
  auto ga = at::empty(v.sizes(), v.options());
  if (B == 0) return ga;
  const bool has_gw = grad_w.has_value() && grad_w->defined(), has_gv = grad_v.has_value() && grad_v->defined();
  const auto wc = w.reshape({B, 3}).contiguous(), vc = v.reshape({B, 9}).contiguous();
  const auto gw = has_gw ? grad_w->to(v.scalar_type()).reshape({B, 3}).contiguous() : at::Tensor();
  const auto gv = has_gv ? grad_v->to(v.scalar_type()).reshape({B, 9}).contiguous() : at::Tensor();
  MG_DISPATCH_FLOATING_TYPES(v.scalar_type(), "symeig3x3_backward_cpu", [&] {
    using acc_t = mg::acc_t<scalar_t>;
    const acc_t gap_eps = static_cast<acc_t>(kGapFactor * static_cast<double>(std::numeric_limits<scalar_t>::epsilon()));
    const scalar_t* wp = wc.const_data_ptr<scalar_t>();
    const scalar_t* vp = vc.const_data_ptr<scalar_t>();
    const scalar_t* gwp = has_gw ? gw.const_data_ptr<scalar_t>() : nullptr;
    const scalar_t* gvp = has_gv ? gv.const_data_ptr<scalar_t>() : nullptr;
    scalar_t* gap = ga.mutable_data_ptr<scalar_t>();
    at::parallel_for(0, B, 2048, [&](int64_t lo, int64_t hi) {
      for (int64_t b = lo; b < hi; ++b) {
        acc_t ww[3], vv[9], gww[3], gvv[9], out[9];
        for (int i = 0; i < 3; ++i) {
          ww[i] = static_cast<acc_t>(wp[3 * b + i]);
          gww[i] = gwp != nullptr ? static_cast<acc_t>(gwp[3 * b + i]) : acc_t(0);
        }
        for (int i = 0; i < 9; ++i) {
          vv[i] = static_cast<acc_t>(vp[9 * b + i]);
          gvv[i] = gvp != nullptr ? static_cast<acc_t>(gvp[9 * b + i]) : acc_t(0);
        }
        backward<acc_t>(gwp != nullptr ? gww : nullptr, gvp != nullptr ? gvv : nullptr, ww, vv, gap_eps, out);
        for (int i = 0; i < 9; ++i) gap[9 * b + i] = static_cast<scalar_t>(out[i]);
      }
    });
  });
  return ga;
}

}  // namespace
}  // namespace symeig
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CPU, m) {
  m.impl("symeig3x3", &mg::symeig::symeig3x3_cpu);
  m.impl("symeig3x3_backward", &mg::symeig::symeig3x3_backward_cpu);
}
