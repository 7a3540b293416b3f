// Counter-based random numbers shared by the CPU and CUDA sampling kernels (neighbor_sample, random_walk).
//
// A draw is a pure function of (seed, a, b, c): no state advances, so the result never depends on which thread
// makes the draw or in what order. Both backends evaluate the same integer formula (splitmix64's finalizer,
// chained over the counter words), so CPU and CUDA draws agree bit for bit, and meshgraph/ops/reference/sampling.py
// reproduces them with Python ints. The wrapper draws `seed` once from the user's torch.Generator.
//
//   bits(seed, a, b, c)   = mix(mix(mix(mix(seed) + a) + b) + c)           (uint64, wrapping)
//   below(bits, n)        = floor(bits * n / 2^64)                          (uniform integer in [0, n))
//   unit(bits)            = (bits >> 11) * 2^-53                            (uniform double in [0, 1))
#pragma once

#include <c10/macros/Macros.h>

#include <cstdint>

namespace mg {
namespace rng {

C10_HOST_DEVICE inline uint64_t mix(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

C10_HOST_DEVICE inline uint64_t bits(uint64_t seed, uint64_t a, uint64_t b, uint64_t c) {
  return mix(mix(mix(mix(seed) + a) + b) + c);
}

// High 64 bits of the 128-bit product: exact on both backends.
C10_HOST_DEVICE inline uint64_t mulhi(uint64_t x, uint64_t y) {
#if defined(__CUDA_ARCH__)
  return __umul64hi(x, y);
#else
  return static_cast<uint64_t>((static_cast<unsigned __int128>(x) * y) >> 64);
#endif
}

// Uniform integer in [0, n) for n >= 1 (Lemire's multiply-shift; bias below n / 2^64).
C10_HOST_DEVICE inline int64_t below(uint64_t r, int64_t n) {
  return static_cast<int64_t>(mulhi(r, static_cast<uint64_t>(n)));
}

// Uniform double in [0, 1): the top 53 bits, exactly representable.
C10_HOST_DEVICE inline double unit(uint64_t r) {
  return static_cast<double>(r >> 11) * (1.0 / 9007199254740992.0);
}

}  // namespace rng
}  // namespace mg
