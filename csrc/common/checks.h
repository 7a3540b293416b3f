// Argument checks of the raw ops, written once. User-facing validation (ranges, messages in the public API's
// terms) lives in the Python wrappers (meshgraph/_utils.py); these guard memory safety for any caller of
// torch.ops.meshgraph.* (custom calls, torch.compile, export), on every backend:
//
// - every tensor argument's device, dtype and shape (lengths, offsets, weights and grads included) is checked in
//   C++ before a kernel runs: a CPU tensor reaching a CUDA op is a RuntimeError, never a host pointer in a kernel;
// - structural invariants that need the data (rowptr[0] == 0, rowptr[-1] == E, non-decreasing offsets, offsets
//   and sizes within the packed tensor) are checked on CPU tensors only, where reading them is free. On CUDA that
//   would cost a device sync per call, so the CUDA kernels clamp instead (row bounds into [0, E], offsets into
//   [0, total], binary searches over [0, rows)): a malformed input gives unspecified values there, never an
//   out-of-bounds access. Each op's header says which of its invariants are checked and which are clamped.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/util/Exception.h>

#include <cstdint>
#include <optional>
#include <utility>

#define MG_CHECK_SAME_DEVICE(a, b)                                                            \
  TORCH_CHECK((a).device() == (b).device(), #a " and " #b " must be on the same device, got ", \
              (a).device(), " and ", (b).device())

// An optional tensor, when given, is on the device of `ref`.
#define MG_CHECK_SAME_DEVICE_OPT(ref, opt)                                                                   \
  TORCH_CHECK(!(opt).has_value() || !(opt)->defined() || (opt)->device() == (ref).device(),              \
              #opt " must be on the device of " #ref " (", (ref).device(), "), got ", (opt)->device())

#define MG_CHECK_INDEX_DTYPE(t)                                                                \
  TORCH_CHECK((t).scalar_type() == at::kLong || (t).scalar_type() == at::kInt,                \
              #t " must be int32 or int64, got ", (t).scalar_type())

#define MG_CHECK_DTYPE(t, dtype) \
  TORCH_CHECK((t).scalar_type() == (dtype), #t " must be ", (dtype), ", got ", (t).scalar_type())

#define MG_CHECK_SAME_DTYPE(a, b)                                                                      \
  TORCH_CHECK((a).scalar_type() == (b).scalar_type(), #a " and " #b " must have the same dtype, got ", \
              (a).scalar_type(), " and ", (b).scalar_type())

// float16, bfloat16, float32 or float64: the types MG_DISPATCH_FLOATING_TYPES instantiates.
#define MG_CHECK_FLOATING(t)                                                                             \
  TORCH_CHECK((t).scalar_type() == at::kHalf || (t).scalar_type() == at::kBFloat16 ||                   \
                  (t).scalar_type() == at::kFloat || (t).scalar_type() == at::kDouble,                   \
              #t " must be float16, bfloat16, float32 or float64, got ", (t).scalar_type())

// float32 or float64: kernels not yet instantiated for the half types.
#define MG_CHECK_FLOAT_OR_DOUBLE(t)                                                                 \
  TORCH_CHECK((t).scalar_type() == at::kFloat || (t).scalar_type() == at::kDouble,                 \
              #t " must be float32 or float64, got ", (t).scalar_type())

#define MG_CHECK_DIM(t, d) TORCH_CHECK((t).dim() == (d), #t " must be ", d, "-D, got ", (t).dim(), "-D")

#define MG_CHECK_MIN_DIM(t, d) \
  TORCH_CHECK((t).dim() >= (d), #t " must have at least ", d, " dims, got ", (t).dim())

// Exact shape, e.g. MG_CHECK_SHAPE(grad, {N, C, H, W}).
#define MG_CHECK_SHAPE(t, ...)                                                                           \
  TORCH_CHECK((t).sizes() == c10::IntArrayRef(__VA_ARGS__), #t " must have shape ",                      \
              c10::IntArrayRef(__VA_ARGS__), ", got ", (t).sizes())

namespace mg {

// `t` with its trailing dims (from `leading_dims` on) folded into one: (lead..., width). A view whenever the
// strides allow (expanded and sliced tensors included), a copy otherwise; kernels then read through strides.
inline at::Tensor rows_view(const at::Tensor& t, int64_t leading_dims) {
  if (t.dim() == leading_dims) return t.unsqueeze(-1);
  return t.flatten(leading_dims);
}

// Per-cloud lengths: (N,) int32/int64 on the device of `ref`. Values are clamped by the kernels
// (knn::clamped_lengths), so any value is memory-safe.
inline void check_lengths(const at::Tensor& lengths, int64_t N, const at::Tensor& ref, const char* name) {
  TORCH_CHECK(lengths.dim() == 1 && lengths.size(0) == N, name, " must have shape (", N, ",), got ",
              lengths.sizes());
  TORCH_CHECK(lengths.scalar_type() == at::kLong || lengths.scalar_type() == at::kInt, name,
              " must be int32 or int64, got ", lengths.scalar_type());
  TORCH_CHECK(lengths.device() == ref.device(), name, " must be on the device of the points (", ref.device(),
              "), got ", lengths.device());
}

// CSR row offsets of `num_entries` entries: 1-D int64 with at least one entry, on the device of `ref`. On CPU
// also rowptr[0] == 0, rowptr[-1] == num_entries and non-decreasing (one pass over V + 1 values, next to the
// kernel's pass over E entries). CUDA kernels clamp row bounds into [0, E] instead.
inline void check_rowptr(const at::Tensor& rowptr, int64_t num_entries, const at::Tensor& ref, const char* name) {
  TORCH_CHECK(rowptr.dim() == 1 && rowptr.size(0) >= 1, name, " must be 1-D with V + 1 >= 1 entries, got shape ",
              rowptr.sizes());
  TORCH_CHECK(rowptr.scalar_type() == at::kLong, name, " must be int64, got ", rowptr.scalar_type());
  TORCH_CHECK(rowptr.device() == ref.device(), name, " must be on the device of the features (", ref.device(),
              "), got ", rowptr.device());
  if (!rowptr.device().is_cpu()) return;
  const at::Tensor rp = rowptr.contiguous();
  const int64_t* p = rp.const_data_ptr<int64_t>();
  const int64_t n = rp.numel();
  TORCH_CHECK(p[0] == 0, name, "[0] must be 0, got ", p[0]);
  TORCH_CHECK(p[n - 1] == num_entries, name, "[-1] must equal the number of entries (", num_entries, "), got ",
              p[n - 1]);
  bool sorted = true;
  for (int64_t i = 1; i < n; ++i) sorted &= p[i - 1] <= p[i];
  TORCH_CHECK(sorted, name, " must be non-decreasing");
}

// Packed set offsets (PyTorch3D's first_idxs): (N,) int32/int64 on the device of `ref`; on CPU also
// non-decreasing with values in [0, total] (kernels binary-search them). CUDA kernels clamp every offset.
inline void check_first_idxs(const at::Tensor& first, int64_t total, const at::Tensor& ref, const char* name) {
  TORCH_CHECK(first.dim() == 1, name, " must be 1-D, got ", first.dim(), "-D");
  TORCH_CHECK(first.scalar_type() == at::kLong || first.scalar_type() == at::kInt, name,
              " must be int32 or int64, got ", first.scalar_type());
  TORCH_CHECK(first.device() == ref.device(), name, " must be on the device of the inputs (", ref.device(),
              "), got ", first.device());
  if (!first.device().is_cpu() || first.numel() == 0) return;
  const at::Tensor f = first.to(at::kLong).contiguous();
  const int64_t* p = f.const_data_ptr<int64_t>();
  const int64_t n = f.numel();
  bool ok = p[0] >= 0 && p[n - 1] <= total;
  for (int64_t i = 1; i < n; ++i) ok &= p[i - 1] <= p[i];
  TORCH_CHECK(ok, name, " must be non-decreasing with values in [0, ", total, "]");
}

// Per-element [first, first + size) ranges into a packed tensor of `total` rows: (N,) int64 each, on the device
// of `ref`; on CPU also first >= 0, size >= 0 and first + size <= total, and with `disjoint` the ranges in order
// without overlap (first[n] >= first[n - 1] + size[n - 1]: each row belongs to at most one element, as the
// rasterizers' images need). CUDA kernels clamp each range into [0, total] instead (no device sync).
inline void check_ranges(const at::Tensor& first, const at::Tensor& size, int64_t N, int64_t total,
                         const at::Tensor& ref, const char* first_name, const char* size_name,
                         bool disjoint = false) {
  for (const auto& [t, name] : {std::pair<const at::Tensor*, const char*>{&first, first_name}, {&size, size_name}}) {
    TORCH_CHECK(t->dim() == 1 && t->size(0) == N, name, " must have shape (", N, ",), got ", t->sizes());
    TORCH_CHECK(t->scalar_type() == at::kLong, name, " must be int64, got ", t->scalar_type());
    TORCH_CHECK(t->device() == ref.device(), name, " must be on the device of the packed tensor (", ref.device(),
                "), got ", t->device());
  }
  if (!first.device().is_cpu()) return;
  const at::Tensor f = first.contiguous(), s = size.contiguous();
  const int64_t* fp = f.const_data_ptr<int64_t>();
  const int64_t* sp = s.const_data_ptr<int64_t>();
  for (int64_t n = 0; n < N; ++n) {
    TORCH_CHECK(fp[n] >= 0 && sp[n] >= 0 && sp[n] <= total - fp[n], first_name, " / ", size_name, " of element ", n,
                " give rows [", fp[n], ", ", fp[n], " + ", sp[n], ") outside [0, ", total, ")");
    TORCH_CHECK(!disjoint || n == 0 || fp[n] >= fp[n - 1] + sp[n - 1], first_name, " / ", size_name,
                " must give ordered, disjoint ranges: element ", n, " starts at ", fp[n], " inside element ", n - 1,
                "'s rows [", fp[n - 1], ", ", fp[n - 1] + sp[n - 1], ")");
  }
}

}  // namespace mg
