// packed_to_padded / padded_to_packed: conversion between the packed (sum_V x *) and padded
// (N x max_size x *) layouts of a batch of variable-size sets (PyTorch3D semantics and argument names).
//
//   packed_to_padded(inputs: (F, *D), first_idxs: (N,) int32|int64, max_size) -> (N, max_size, *D)
//     out[b, f] = inputs[first_idxs[b] + f]  for f < num_b = first_idxs[b+1] - first_idxs[b]
//     (the last set ends at F); every other row is zero.
//   padded_to_packed(inputs: (N, M, *D), first_idxs: (N,), num_inputs = F) -> (F, *D)
//     out[first_idxs[b] + f] = inputs[b, f]  for f < num_b; rows no set covers are zero.
//
// Each is the other's adjoint, so each serves as the other's backward. Any dtype is accepted (the kernels
// move elements, they do no arithmetic); any trailing shape *D. first_idxs must be non-decreasing with
// values in [0, F] and num_b <= max_size: the Python wrapper checks that. The kernels clamp every offset,
// so inconsistent input can give wrong rows but never an out-of-bounds access. The raw ops check devices and
// shapes on every backend, and on CPU also that first_idxs is non-decreasing within [0, F] (checks.h).
#pragma once

#include <ATen/core/Tensor.h>
#include "../../common/checks.h"
#include "../../common/index_math.h"
#include <cstdint>
#include <vector>

namespace mg {

// [start, start + count) of set b in the packed layout, clamped into [0, num_rows) and count <= max_count.
template <typename index_t>
C10_HOST_DEVICE inline void set_range(const index_t* first, int64_t num_sets, int64_t b, int64_t num_rows,
                                      int64_t max_count, int64_t* start, int64_t* count) {
  const int64_t s = clamp64(static_cast<int64_t>(first[b]), 0, num_rows);
  const int64_t e = b + 1 < num_sets ? clamp64(static_cast<int64_t>(first[b + 1]), 0, num_rows) : num_rows;
  *start = s;
  *count = clamp64(e - s, 0, max_count);
}

inline void check_packed_to_padded_inputs(const at::Tensor& inputs, const at::Tensor& first_idxs, int64_t max_size) {
  MG_CHECK_MIN_DIM(inputs, 1);
  check_first_idxs(first_idxs, inputs.size(0), inputs, "first_idxs");
  TORCH_CHECK(max_size >= 0, "max_size must be non-negative, got ", max_size);
}

inline void check_padded_to_packed_inputs(const at::Tensor& inputs, const at::Tensor& first_idxs, int64_t num_inputs) {
  MG_CHECK_MIN_DIM(inputs, 2);
  TORCH_CHECK(num_inputs >= 0, "num_inputs must be non-negative, got ", num_inputs);
  check_first_idxs(first_idxs, num_inputs, inputs, "first_idxs");
  TORCH_CHECK(first_idxs.size(0) == inputs.size(0), "first_idxs must have one entry per padded set: ",
              first_idxs.size(0), " vs ", inputs.size(0));
}

inline std::vector<int64_t> padded_sizes(const at::Tensor& packed, int64_t num_sets, int64_t max_size) {
  std::vector<int64_t> sizes{num_sets, max_size};
  for (int64_t i = 1; i < packed.dim(); ++i) sizes.push_back(packed.size(i));
  return sizes;
}

inline std::vector<int64_t> packed_sizes(const at::Tensor& padded, int64_t num_inputs) {
  std::vector<int64_t> sizes{num_inputs};
  for (int64_t i = 2; i < padded.dim(); ++i) sizes.push_back(padded.size(i));
  return sizes;
}

}  // namespace mg
