// CUDA kernels for packed_to_padded / padded_to_packed (contract in packed_to_padded.h).
// One thread per output element, 64-bit offsets, every output element written exactly once.
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include "../../common/checks.h"
#include "../../common/cuda_utils.cuh"
#include "../../common/dispatch.h"
#include "packed_to_padded.h"

namespace mg {
namespace {

template <typename word_t, typename index_t>
__global__ void packed_to_padded_kernel(const word_t* __restrict__ src, const index_t* __restrict__ first,
                                        word_t* __restrict__ dst, int64_t num_sets, int64_t num_rows,
                                        int64_t max_size, int64_t width, int64_t rs, int64_t cs) {
  const int64_t total = num_sets * max_size * width;
  MG_CUDA_KERNEL_LOOP(e, total) {
    const int64_t r = e / width, d = e - r * width;
    const int64_t b = r / max_size, j = r - b * max_size;
    int64_t start, count;
    set_range(first, num_sets, b, num_rows, max_size, &start, &count);
    dst[e] = j < count ? src[(start + j) * rs + d * cs] : word_t(0);
  }
}

template <typename word_t, typename index_t>
__global__ void padded_to_packed_kernel(const word_t* __restrict__ src, const index_t* __restrict__ first,
                                        word_t* __restrict__ dst, int64_t num_sets, int64_t num_rows,
                                        int64_t max_size, int64_t width, int64_t bs, int64_t rs, int64_t cs) {
  const int64_t total = num_rows * width;
  MG_CUDA_KERNEL_LOOP(e, total) {
    const int64_t i = e / width, d = e - i * width;
    const int64_t b = row_of_entry(first, num_sets, i);  // the set of packed row i, -1 if none (index_math.h)
    word_t v(0);
    if (b >= 0) {
      int64_t start, count;
      set_range(first, num_sets, b, num_rows, max_size, &start, &count);
      const int64_t j = i - start;
      if (j >= 0 && j < count) v = src[b * bs + j * rs + d * cs];
    }
    dst[e] = v;
  }
}

at::Tensor packed_to_padded_cuda(const at::Tensor& inputs, const at::Tensor& first_idxs, int64_t max_size) {
  check_packed_to_padded_inputs(inputs, first_idxs, max_size);
  const c10::cuda::CUDAGuard guard(inputs.device());
  const auto first = first_idxs.contiguous();
  const int64_t num_sets = first.size(0), num_rows = inputs.size(0);
  auto out = at::empty(padded_sizes(inputs, num_sets, max_size), inputs.options());
  if (out.numel() == 0) return out;
  const auto x = rows_view(inputs, 1);  // read through strides: expanded grads are not materialized
  const int64_t width = x.size(1);
  const auto stream = c10::cuda::getCurrentCUDAStream();
  MG_DISPATCH_INDEX_TYPES(first.scalar_type(), "packed_to_padded_cuda", [&] {
    MG_DISPATCH_BY_ELEMENT_SIZE(x.element_size(), "packed_to_padded_cuda", [&] {
      packed_to_padded_kernel<word_t, index_t><<<cuda::num_blocks(out.numel()), cuda::kThreads, 0, stream>>>(
          static_cast<const word_t*>(x.const_data_ptr()), first.const_data_ptr<index_t>(),
          static_cast<word_t*>(out.mutable_data_ptr()), num_sets, num_rows, max_size, width, x.stride(0), x.stride(1));
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  });
  return out;
}

at::Tensor padded_to_packed_cuda(const at::Tensor& inputs, const at::Tensor& first_idxs, int64_t num_inputs) {
  check_padded_to_packed_inputs(inputs, first_idxs, num_inputs);
  const c10::cuda::CUDAGuard guard(inputs.device());
  const auto first = first_idxs.contiguous();
  const int64_t num_sets = inputs.size(0), max_size = inputs.size(1);
  auto out = at::empty(packed_sizes(inputs, num_inputs), inputs.options());
  if (out.numel() == 0) return out;
  const auto x = rows_view(inputs, 2);
  const int64_t width = x.size(2);
  const auto stream = c10::cuda::getCurrentCUDAStream();
  MG_DISPATCH_INDEX_TYPES(first.scalar_type(), "padded_to_packed_cuda", [&] {
    MG_DISPATCH_BY_ELEMENT_SIZE(x.element_size(), "padded_to_packed_cuda", [&] {
      padded_to_packed_kernel<word_t, index_t><<<cuda::num_blocks(out.numel()), cuda::kThreads, 0, stream>>>(
          static_cast<const word_t*>(x.const_data_ptr()), first.const_data_ptr<index_t>(),
          static_cast<word_t*>(out.mutable_data_ptr()), num_sets, num_inputs, max_size, width, x.stride(0), x.stride(1),
          x.stride(2));
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  });
  return out;
}

}  // namespace
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CUDA, m) {
  m.impl("packed_to_padded", &mg::packed_to_padded_cuda);
  m.impl("padded_to_packed", &mg::padded_to_packed_cuda);
}
