// Schemas for interpolate_face_attributes and its backward (contract in interpolate_face_attributes.h).
#include <ATen/ATen.h>
#include <ATen/OpMathType.h>
#include <torch/library.h>

#include "interpolate_face_attributes.h"

TORCH_LIBRARY_FRAGMENT(meshgraph, m) {
  m.def("interpolate_face_attributes(Tensor pix_to_face, Tensor bary, Tensor values, Tensor? faces) -> Tensor",
        {at::Tag::pt2_compliant_tag});
  m.def(
      "interpolate_face_attributes_backward(Tensor grad, Tensor pix_to_face, Tensor bary, Tensor values, "
      "Tensor? faces) -> (Tensor, Tensor)",
      {at::Tag::pt2_compliant_tag});
}

namespace mg {
namespace interp {

at::Tensor grad_values_deterministic(const at::Tensor& grad, const at::Tensor& pix_to_face, const at::Tensor& bary,
                                     const at::Tensor& values, const c10::optional<at::Tensor>& faces) {
  const int64_t D = values.size(-1), F = num_faces(values, faces), rows = num_value_rows(values);
  const auto acc = at::toOpMathType(values.scalar_type());
  auto grad_values = at::zeros({rows, D}, values.options().dtype(acc));
  if (pix_to_face.numel() == 0 || D == 0 || F == 0 || rows == 0) return grad_values.view(values.sizes()).to(values.scalar_type());
  const auto f = pix_to_face.reshape({-1});
  const auto face_ok = (f >= 0).logical_and_(f < F);
  const auto fc = f.clamp(0, F - 1);
  const auto corner_rows = faces.has_value() ? faces->index_select(0, fc)  // (S, 3)
                                             : fc.unsqueeze(1) * 3 + at::arange(3, f.options()).unsqueeze(0);
  const auto ok = face_ok.unsqueeze(1).logical_and((corner_rows >= 0).logical_and_(corner_rows < rows));
  const auto g = grad.to(acc).reshape({-1, 1, D});
  // (S, 3, D): the kernels' w * g; skipped corners add exact zeros to row 0 (no mask, no device sync)
  const auto contrib = at::where(ok.unsqueeze(-1), bary.to(acc).reshape({-1, 3, 1}) * g, 0);
  grad_values.index_put_({corner_rows.clamp(0, rows - 1).reshape({-1})}, contrib.reshape({-1, D}),
                         /*accumulate=*/true);
  return grad_values.view(values.sizes()).to(values.scalar_type());
}

}  // namespace interp
}  // namespace mg
