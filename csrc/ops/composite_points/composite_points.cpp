// Schemas for composite_points and its backward (contract in composite_points.h).
#include <ATen/ATen.h>
#include <torch/library.h>

#include "composite_points.h"

TORCH_LIBRARY_FRAGMENT(meshgraph, m) {
  m.def("composite_points(Tensor features, Tensor alphas, Tensor idx, str mode) -> Tensor",
        {at::Tag::pt2_compliant_tag});
  m.def(
      "composite_points_backward(Tensor grad_out, Tensor features, Tensor alphas, Tensor idx, str mode) -> "
      "(Tensor, Tensor)",
      {at::Tag::pt2_compliant_tag});
}

namespace mg {
namespace composite {

at::Tensor grad_features_deterministic(const at::Tensor& grad_out, const at::Tensor& idx, const at::Tensor& weights,
                                       int64_t P) {
  const int64_t C = grad_out.size(1);
  auto grad_f = at::zeros({P, C}, weights.options());
  if (P == 0 || C == 0 || idx.numel() == 0) return grad_f;
  const auto valid = (idx >= 0).logical_and_(idx < P);                                  // (N, H, W, K)
  const auto go = grad_out.to(weights.scalar_type()).permute({0, 2, 3, 1}).unsqueeze(3);  // (N, H, W, 1, C)
  // the kernels' w_k * g; invalid slots add exact zeros to point 0 (no mask, no device sync)
  const auto contrib = at::where(valid.unsqueeze(-1), weights.view(idx.sizes()).unsqueeze(-1) * go, 0);
  grad_f.index_put_({idx.clamp(0, P - 1).reshape({-1})}, contrib.reshape({-1, C}), /*accumulate=*/true);
  return grad_f;
}

}  // namespace composite
}  // namespace mg
