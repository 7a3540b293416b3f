// AVX2 threshold tests over 16 float lanes, for CPU kernels that filter candidates against a threshold (knn's
// GEMM paths). Each is a functor whose call operator is compiled for AVX2 only (`target("avx2")`), so a baseline
// build still compiles it; callers pick it at run time when cpu::has_avx2() holds (cpu_kernels.h) and otherwise
// use their scalar version, which computes bit-identical masks (the same subtract of 2 g, one rounding each, and
// the same ordered less-than: NaN compares false).
//
// MG_HAVE_AVX2 is 1 where these exist (x86-64 with GCC or Clang), 0 elsewhere: guard every use with it.
#pragma once

#include <cstdint>

#if defined(__x86_64__) && defined(__GNUC__)
#define MG_HAVE_AVX2 1
#include <immintrin.h>
#else
#define MG_HAVE_AVX2 0
#endif

#if MG_HAVE_AVX2
namespace mg {
namespace cpu {

// Bit u: v[u] < thr for the 16 values v[u] = g[u] (add == nullptr) or add[u] - 2 g[u].
struct BelowMask16Avx2 {
  __attribute__((target("avx2"))) uint32_t operator()(const float* g, const float* add, float thr) const {
    const __m256 tv = _mm256_set1_ps(thr), two = _mm256_set1_ps(2.0f);
    __m256 v0 = _mm256_loadu_ps(g), v1 = _mm256_loadu_ps(g + 8);
    if (add != nullptr) {
      v0 = _mm256_sub_ps(_mm256_loadu_ps(add), _mm256_mul_ps(two, v0));
      v1 = _mm256_sub_ps(_mm256_loadu_ps(add + 8), _mm256_mul_ps(two, v1));
    }
    const uint32_t lo = static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(v0, tv, _CMP_LT_OQ)));
    const uint32_t hi = static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(v1, tv, _CMP_LT_OQ)));
    return lo | (hi << 8);
  }
};

// Bit u: add - 2 g[u] < thr[u] (one scalar against 16 lanes, each with its own threshold).
struct BelowMask16LanesAvx2 {
  __attribute__((target("avx2"))) uint32_t operator()(const float* g, float add, const float* thr) const {
    const __m256 av = _mm256_set1_ps(add), two = _mm256_set1_ps(2.0f);
    const __m256 v0 = _mm256_sub_ps(av, _mm256_mul_ps(two, _mm256_loadu_ps(g)));
    const __m256 v1 = _mm256_sub_ps(av, _mm256_mul_ps(two, _mm256_loadu_ps(g + 8)));
    const uint32_t lo =
        static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(v0, _mm256_loadu_ps(thr), _CMP_LT_OQ)));
    const uint32_t hi =
        static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(v1, _mm256_loadu_ps(thr + 8), _CMP_LT_OQ)));
    return lo | (hi << 8);
  }
};

}  // namespace cpu
}  // namespace mg
#endif  // MG_HAVE_AVX2
