// CPU kernels for symeig3x3 (contract in symeig3x3.h): parallel over matrices, one matrix per iteration with the
// shared C10_HOST_DEVICE solve / backward of symeig3x3.h (bit-identical to the CUDA kernels: no FP contraction).
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <tuple>

#include "../../common/dispatch.h"
#include "symeig3x3.h"

namespace mg {
namespace symeig {
namespace {

std::tuple<at::Tensor, at::Tensor> symeig3x3_cpu(const at::Tensor& input) {
  check_input(input);
  const int64_t B = input.numel() / 9;
  auto w = at::empty(output_shape(input, 1), input.options());
  auto v = at::empty(output_shape(input, 2), input.options());
  if (B == 0) return {w, v};
  const auto a = input.reshape({B, 9}).contiguous();
  MG_DISPATCH_FLOATING_TYPES(input.scalar_type(), "symeig3x3_cpu", [&] {
    const scalar_t* ap = a.const_data_ptr<scalar_t>();
    scalar_t* wp = w.mutable_data_ptr<scalar_t>();
    scalar_t* vp = v.mutable_data_ptr<scalar_t>();
    at::parallel_for(0, B, 2048, [&](int64_t lo, int64_t hi) {
      for (int64_t b = lo; b < hi; ++b) solve_matrix<scalar_t, mg::acc_t<scalar_t>>(ap, wp, vp, b);
    });
  });
  return {w, v};
}

at::Tensor symeig3x3_backward_cpu(const c10::optional<at::Tensor>& grad_w, const c10::optional<at::Tensor>& grad_v,
                                  const at::Tensor& w, const at::Tensor& v) {
  check_backward(grad_w, grad_v, w, v);
  auto ga = at::empty(v.sizes(), v.options());
  const BackwardOperands in = backward_operands(grad_w, grad_v, w, v);
  if (in.B == 0) return ga;
  MG_DISPATCH_FLOATING_TYPES(v.scalar_type(), "symeig3x3_backward_cpu", [&] {
    using acc_t = mg::acc_t<scalar_t>;
    const acc_t eps = gap_eps<scalar_t, acc_t>();
    const scalar_t* wp = in.w.const_data_ptr<scalar_t>();
    const scalar_t* vp = in.v.const_data_ptr<scalar_t>();
    const scalar_t* gwp = in.gw.defined() ? in.gw.const_data_ptr<scalar_t>() : nullptr;
    const scalar_t* gvp = in.gv.defined() ? in.gv.const_data_ptr<scalar_t>() : nullptr;
    scalar_t* gap = ga.mutable_data_ptr<scalar_t>();
    at::parallel_for(0, in.B, 2048, [&](int64_t lo, int64_t hi) {
      for (int64_t b = lo; b < hi; ++b) backward_matrix<scalar_t, acc_t>(gwp, gvp, wp, vp, eps, gap, b);
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
