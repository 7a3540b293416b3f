// CPU kernels for packed_to_padded / padded_to_packed (contract in packed_to_padded.h).
// Every output row is written exactly once (copy or zero), so outputs are allocated uninitialized.
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <algorithm>
#include <cstring>

#include "../../common/checks.h"
#include "../../common/dispatch.h"
#include "packed_to_padded.h"

namespace mg {
namespace {

// Rows per parallel task: about 64 KiB of output each.
inline int64_t row_grain(int64_t row_bytes) { return std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(row_bytes, 1)); }

at::Tensor packed_to_padded_cpu(const at::Tensor& inputs, const at::Tensor& first_idxs, int64_t max_size) {
  MG_CHECK_MIN_DIM(inputs, 1);
  MG_CHECK_DIM(first_idxs, 1);
  MG_CHECK_INDEX_DTYPE(first_idxs);
  TORCH_CHECK(max_size >= 0, "max_size must be non-negative, got ", max_size);
  const auto x = inputs.contiguous();
  const auto first = first_idxs.contiguous();
  const int64_t num_sets = first.size(0), num_rows = x.size(0), width = row_width(x, 1);
  auto out = at::empty(padded_sizes(x, num_sets, max_size), x.options());
  if (out.numel() == 0) return out;
  const int64_t row_bytes = width * x.element_size();
  const auto* src = static_cast<const char*>(x.const_data_ptr());
  auto* dst = static_cast<char*>(out.mutable_data_ptr());
  MG_DISPATCH_INDEX_TYPES(first.scalar_type(), "packed_to_padded_cpu", [&] {
    const index_t* f = first.const_data_ptr<index_t>();
    at::parallel_for(0, num_sets * max_size, row_grain(row_bytes), [&](int64_t begin, int64_t end) {
      int64_t b = -1, start = 0, count = 0;
      for (int64_t r = begin; r < end; ++r) {
        if (r / max_size != b) {
          b = r / max_size;
          set_range(f, num_sets, b, num_rows, max_size, &start, &count);
        }
        const int64_t j = r - b * max_size;
        char* o = dst + r * row_bytes;
        if (j < count) {
          std::memcpy(o, src + (start + j) * row_bytes, row_bytes);
        } else {
          std::memset(o, 0, row_bytes);
        }
      }
    });
  });
  return out;
}

at::Tensor padded_to_packed_cpu(const at::Tensor& inputs, const at::Tensor& first_idxs, int64_t num_inputs) {
  MG_CHECK_MIN_DIM(inputs, 2);
  MG_CHECK_DIM(first_idxs, 1);
  MG_CHECK_INDEX_DTYPE(first_idxs);
  TORCH_CHECK(first_idxs.size(0) == inputs.size(0), "first_idxs must have one entry per padded set: ",
              first_idxs.size(0), " vs ", inputs.size(0));
  TORCH_CHECK(num_inputs >= 0, "num_inputs must be non-negative, got ", num_inputs);
  const auto x = inputs.contiguous();
  const auto first = first_idxs.contiguous();
  const int64_t num_sets = x.size(0), max_size = x.size(1), width = row_width(x, 2);
  auto out = at::empty(packed_sizes(x, num_inputs), x.options());
  if (out.numel() == 0) return out;
  const int64_t row_bytes = width * x.element_size();
  const auto* src = static_cast<const char*>(x.const_data_ptr());
  auto* dst = static_cast<char*>(out.mutable_data_ptr());
  MG_DISPATCH_INDEX_TYPES(first.scalar_type(), "padded_to_packed_cpu", [&] {
    const index_t* f = first.const_data_ptr<index_t>();
    at::parallel_for(0, num_inputs, row_grain(row_bytes), [&](int64_t begin, int64_t end) {
      // Last set whose first index is <= begin (sets are sorted by first index); -1 if none.
      int64_t b = std::upper_bound(f, f + num_sets, begin, [](int64_t v, index_t e) { return v < e; }) - f - 1;
      for (int64_t i = begin; i < end; ++i) {
        while (b + 1 < num_sets && f[b + 1] <= i) ++b;
        char* o = dst + i * row_bytes;
        int64_t start = 0, count = 0;
        if (b >= 0) set_range(f, num_sets, b, num_inputs, max_size, &start, &count);
        const int64_t j = i - start;
        if (b >= 0 && j >= 0 && j < count) {
          std::memcpy(o, src + (b * max_size + j) * row_bytes, row_bytes);
        } else {
          std::memset(o, 0, row_bytes);
        }
      }
    });
  });
  return out;
}

}  // namespace
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CPU, m) {
  m.impl("packed_to_padded", &mg::packed_to_padded_cpu);
  m.impl("padded_to_packed", &mg::padded_to_packed_cpu);
}
