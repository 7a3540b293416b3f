// CPU helpers shared by the fused kernels: a runtime-dispatched AVX2 build of the hot loops, prefetching, and
// row accumulation written so the compiler vectorizes it.
#pragma once

#include <cstdint>

namespace mg {
namespace cpu {

// Run `body()` compiled for AVX2+FMA when the CPU has them (x86-64), else the baseline build. The body is
// inlined into each variant, so one source serves both instruction sets; results do not depend on the
// variant (no reassociation across features, and -ffp-contract=off keeps FMAs out). `flatten` is what makes the
// inlining happen: without it GCC kept a large body out of line, compiled for the baseline ISA, and the "AVX2"
// variant ran SSE2 code (objdump showed no ymm register in gather_scatter_cpu.o).
#if defined(__x86_64__) && defined(__GNUC__)
template <typename Body>
__attribute__((target("avx2,fma"), flatten)) void run_avx2(const Body& body) {
  body();
}
inline bool has_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
}
template <typename Body>
inline void dispatch_isa(const Body& body) {
  if (has_avx2()) {
    run_avx2(body);
  } else {
    body();
  }
}
#else
template <typename Body>
inline void dispatch_isa(const Body& body) {
  body();
}
#endif

// Bring the `bytes` bytes at p towards the cache (a row we will read a few iterations from now).
inline void prefetch_row(const void* p, int64_t bytes) {
#if defined(__GNUC__)
  const char* c = static_cast<const char*>(p);
  for (int64_t off = 0; off < bytes; off += 64) __builtin_prefetch(c + off, 0, 3);
#endif
}

}  // namespace cpu
}  // namespace mg
