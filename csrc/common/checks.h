// Cheap invariants checked inside kernels. Full validation (ranges, dtypes with user-facing messages)
// lives once, in the Python wrappers (meshgraph/_utils.py); these only guard memory safety.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/util/Exception.h>

#define MG_CHECK_SAME_DEVICE(a, b)                                                            \
  TORCH_CHECK((a).device() == (b).device(), #a " and " #b " must be on the same device, got ", \
              (a).device(), " and ", (b).device())

#define MG_CHECK_INDEX_DTYPE(t)                                                                \
  TORCH_CHECK((t).scalar_type() == at::kLong || (t).scalar_type() == at::kInt,                \
              #t " must be int32 or int64, got ", (t).scalar_type())

#define MG_CHECK_DIM(t, d) TORCH_CHECK((t).dim() == (d), #t " must be ", d, "-D, got ", (t).dim(), "-D")

#define MG_CHECK_MIN_DIM(t, d) \
  TORCH_CHECK((t).dim() >= (d), #t " must have at least ", d, " dims, got ", (t).dim())

namespace mg {

// `t` with its trailing dims (from `leading_dims` on) folded into one: (lead..., width). A view whenever the
// strides allow (expanded and sliced tensors included), a copy otherwise; kernels then read through strides.
inline at::Tensor rows_view(const at::Tensor& t, int64_t leading_dims) {
  if (t.dim() == leading_dims) return t.unsqueeze(-1);
  return t.flatten(leading_dims);
}

}  // namespace mg
