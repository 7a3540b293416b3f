// Dispatch helpers shared by every meshgraph kernel.
//
// Contract: kernels are templated on the scalar type (float16, bfloat16, float32, float64) and on the index
// type (int32, int64). Arithmetic on offsets is always int64 (`mg::offset_t`), whatever the index type, so
// that E * F beyond 2^32 never wraps.
//
// CPU/CUDA parity rule (floating-point contraction): no a * b + c in any kernel is fused into an FMA, on either
// backend. setup.py compiles the C++ with -ffp-contract=off (GCC otherwise fuses inside the AVX2+FMA builds of
// cpu_kernels.h's dispatch_isa) and the CUDA with --fmad=false (nvcc fuses by default); tools/check_cuda_compiles.sh
// and tools/gpu_check.sh use the same flags. Every multiply and add is therefore rounded on its own, so a formula
// evaluated in the same order (the shared C10_HOST_DEVICE helpers: point distances, point-triangle distances,
// pixel centres, blending weights) gives bit-identical results on CPU and CUDA, and so do the ties and FPS picks
// decided by them: tests may compare such outputs exactly across devices. A kernel that wants an FMA writes it
// explicitly (std::fma / fma) on both backends. Outputs whose summation order differs by design (parallel
// reductions, the CPU's GEMM-based knn for D > 3, atomics) are compared with tolerances and tie-aware index checks.
#pragma once

#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <cstdint>

namespace mg {

// Offsets into tensors: always 64 bit.
using offset_t = int64_t;

// Accumulation type: float for half/bfloat16/float, double for double.
template <typename scalar_t>
using acc_t = at::opmath_type<scalar_t>;

}  // namespace mg

// Floating types meshgraph kernels compute in; defines `scalar_t`.
#define MG_DISPATCH_FLOATING_TYPES(TYPE, NAME, ...) \
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, TYPE, NAME, __VA_ARGS__)

// Index types accepted for index tensors (int32, int64); defines `index_t`.
#define MG_DISPATCH_INDEX_TYPES(TYPE, NAME, ...) AT_DISPATCH_INDEX_TYPES(TYPE, NAME, __VA_ARGS__)

// Ops that only move elements (no arithmetic) dispatch on the element size: one instantiation serves
// every dtype of that width. Defines `word_t`, an unsigned integer of the element's width.
#define MG_DISPATCH_BY_ELEMENT_SIZE(ITEMSIZE, NAME, ...)                                 \
  [&] {                                                                                   \
    switch (ITEMSIZE) {                                                                   \
      case 1: { using word_t = uint8_t; return __VA_ARGS__(); }                           \
      case 2: { using word_t = uint16_t; return __VA_ARGS__(); }                          \
      case 4: { using word_t = uint32_t; return __VA_ARGS__(); }                          \
      case 8: { using word_t = uint64_t; return __VA_ARGS__(); }                          \
      default: TORCH_CHECK(false, NAME, ": unsupported element size ", ITEMSIZE);         \
    }                                                                                     \
  }()
