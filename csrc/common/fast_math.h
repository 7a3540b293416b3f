// exp and log for float32 that GCC vectorizes inside a loop (branch-free: arithmetic, compares and selects, bit
// casts), for CPU kernels whose inner loop over channels would otherwise call libm once per element (std::exp
// does not vectorize without -ffast-math). Cephes' single-precision polynomials: relative error within ~2 ulp
// over the normal range. exp: 0 below -87.3 (the denormal range is flushed), +inf above 88.72, NaN for NaN.
// log: -inf at 0, NaN below 0 or for NaN, +inf at +inf; denormal inputs are read as the smallest normal.
// Double precision uses std::exp / std::log (mg::cpu::exp_of / log_of pick by type).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

namespace mg {
namespace cpu {

inline __attribute__((always_inline)) float bits_to_float(int32_t i) {
  float f;
  std::memcpy(&f, &i, sizeof f);
  return f;
}

inline __attribute__((always_inline)) int32_t float_to_bits(float f) {
  int32_t i;
  std::memcpy(&i, &f, sizeof i);
  return i;
}

inline __attribute__((always_inline)) float fast_exp(float x) {
  const float hi = 88.3762626647949f, lo = -87.3365447504019f;
  float xc = x < lo ? lo : x;  // two selects, both compares unconditional (a nested one is not if-converted)
  xc = xc > hi ? hi : xc;
  // floor of k (|k| < 2^7 after the clamp) by truncation and a correction: exact like std::floor, but GCC
  // vectorizes it (its vector floor needs -fno-trapping-math). Both arms of every select are computed first:
  // under trapping math GCC does not if-convert a select whose arm does arithmetic, and the loop stays scalar.
  const float k = xc * 1.44269504088896341f + 0.5f;
  const float kt = static_cast<float>(static_cast<int32_t>(k));
  const float kt1 = kt - 1.0f;
  const float fx = kt > k ? kt1 : kt;
  float r = xc - fx * 0.693359375f;
  r = r - fx * -2.12194440e-4f;
  const float z = r * r;
  float y = 1.9875691500e-4f;
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * z + r + 1.0f;
  const int32_t n = static_cast<int32_t>(fx);
  y = y * bits_to_float((n + 127) << 23);
  y = x < lo ? 0.0f : y;
  y = x > 88.7228391116729996f ? std::numeric_limits<float>::infinity() : y;
  return x != x ? x : y;
}

inline __attribute__((always_inline)) float fast_log(float x) {
  const float xm = x < std::numeric_limits<float>::min() ? std::numeric_limits<float>::min() : x;
  const int32_t bits = float_to_bits(xm);
  float e = static_cast<float>((bits >> 23) - 126);
  float m = bits_to_float((bits & 0x007fffff) | 0x3f000000);  // mantissa in [0.5, 1)
  const bool small = m < 0.707106781186547524f;
  const float e1 = e - 1.0f, m_small = m + m - 1.0f, m_big = m - 1.0f;
  e = small ? e1 : e;
  m = small ? m_small : m_big;
  const float z = m * m;
  float y = 7.0376836292e-2f;
  y = y * m - 1.1514610310e-1f;
  y = y * m + 1.1676998740e-1f;
  y = y * m - 1.2420140846e-1f;
  y = y * m + 1.4249322787e-1f;
  y = y * m - 1.6668057665e-1f;
  y = y * m + 2.0000714765e-1f;
  y = y * m - 2.4999993993e-1f;
  y = y * m + 3.3333331174e-1f;
  y = y * m * z;
  y = y + e * -2.12194440e-4f;
  y = y - 0.5f * z;
  float r = m + y;
  r = r + e * 0.693359375f;
  r = x == 0.0f ? -std::numeric_limits<float>::infinity() : r;
  r = x == std::numeric_limits<float>::infinity() ? x : r;
  const bool bad = (x < 0.0f) | (x != x);  // | not ||: no conditional compare
  return bad ? std::numeric_limits<float>::quiet_NaN() : r;
}

inline __attribute__((always_inline)) float exp_of(float x) { return fast_exp(x); }
inline __attribute__((always_inline)) double exp_of(double x) { return std::exp(x); }
inline __attribute__((always_inline)) float log_of(float x) { return fast_log(x); }
inline __attribute__((always_inline)) double log_of(double x) { return std::log(x); }

}  // namespace cpu
}  // namespace mg
