// CPU kernels for packed_to_padded / padded_to_packed (contract in packed_to_padded.h).
// Every output row is written exactly once (copy or zero), so outputs are allocated uninitialized. Inputs are
// read through their strides: an expanded or sliced tensor (e.g. the gradient of a sum) is never materialized.
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <algorithm>
#include <cstring>

#include "../../common/checks.h"
#include "../../common/cpu_pool.h"
#include "../../common/dispatch.h"
#include "packed_to_padded.h"

namespace mg {
namespace {

// Rows per parallel task: about 64 KiB of output each.
inline int64_t row_grain(int64_t row_bytes) {
  return std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(row_bytes, 1));
}

// Copy one row of `width` elements read with element stride `stride`.
template <typename word_t>
inline void copy_row(word_t* dst, const word_t* src, int64_t width, int64_t stride) {
  if (stride == 1) {
    std::memcpy(dst, src, width * sizeof(word_t));
  } else {
    for (int64_t d = 0; d < width; ++d) dst[d] = src[d * stride];
  }
}

at::Tensor packed_to_padded_cpu(const at::Tensor& inputs, const at::Tensor& first_idxs, int64_t max_size) {
  check_packed_to_padded_inputs(inputs, first_idxs, max_size);
  const auto first = first_idxs.contiguous();
  const int64_t num_sets = first.size(0), num_rows = inputs.size(0);
  auto out = cpu::pooled_empty(padded_sizes(inputs, num_sets, max_size), inputs.options());
  if (out.numel() == 0) return out;
  const auto x = rows_view(inputs, 1);  // (F, width), a view whenever strides allow
  const int64_t width = x.size(1), rs = x.stride(0), cs = x.stride(1);
  MG_DISPATCH_INDEX_TYPES(first.scalar_type(), "packed_to_padded_cpu", [&] {
    MG_DISPATCH_BY_ELEMENT_SIZE(x.element_size(), "packed_to_padded_cpu", [&] {
      const index_t* f = first.const_data_ptr<index_t>();
      const auto* src = static_cast<const word_t*>(x.const_data_ptr());
      auto* dst = static_cast<word_t*>(out.mutable_data_ptr());
      at::parallel_for(0, num_sets * max_size, row_grain(width * x.element_size()), [&](int64_t begin, int64_t end) {
        int64_t b = -1, start = 0, count = 0;
        for (int64_t r = begin; r < end; ++r) {
          if (r / max_size != b) {
            b = r / max_size;
            set_range(f, num_sets, b, num_rows, max_size, &start, &count);
          }
          const int64_t j = r - b * max_size;
          word_t* o = dst + r * width;
          if (j < count) {
            copy_row(o, src + (start + j) * rs, width, cs);
          } else {
            std::memset(o, 0, width * sizeof(word_t));
          }
        }
      });
    });
  });
  return out;
}

at::Tensor padded_to_packed_cpu(const at::Tensor& inputs, const at::Tensor& first_idxs, int64_t num_inputs) {
  check_padded_to_packed_inputs(inputs, first_idxs, num_inputs);
  const auto first = first_idxs.contiguous();
  const int64_t num_sets = inputs.size(0), max_size = inputs.size(1);
  auto out = cpu::pooled_empty(packed_sizes(inputs, num_inputs), inputs.options());
  if (out.numel() == 0) return out;
  const auto x = rows_view(inputs, 2);  // (N, M, width)
  const int64_t width = x.size(2), bs = x.stride(0), rs = x.stride(1), cs = x.stride(2);
  MG_DISPATCH_INDEX_TYPES(first.scalar_type(), "padded_to_packed_cpu", [&] {
    MG_DISPATCH_BY_ELEMENT_SIZE(x.element_size(), "padded_to_packed_cpu", [&] {
      const index_t* f = first.const_data_ptr<index_t>();
      const auto* src = static_cast<const word_t*>(x.const_data_ptr());
      auto* dst = static_cast<word_t*>(out.mutable_data_ptr());
      at::parallel_for(0, num_inputs, row_grain(width * x.element_size()), [&](int64_t begin, int64_t end) {
        int64_t b = row_of_entry(f, num_sets, begin);  // the set of packed row `begin`, -1 if none
        for (int64_t i = begin; i < end; ++i) {
          while (b + 1 < num_sets && f[b + 1] <= i) ++b;
          word_t* o = dst + i * width;
          int64_t start = 0, count = 0;
          if (b >= 0) set_range(f, num_sets, b, num_inputs, max_size, &start, &count);
          const int64_t j = i - start;
          if (b >= 0 && j >= 0 && j < count) {
            copy_row(o, src + b * bs + j * rs, width, cs);
          } else {
            std::memset(o, 0, width * sizeof(word_t));
          }
        }
      });
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
