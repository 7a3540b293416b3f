// Accumulating per-pixel contributions into per-item gradients on the CPU without atomics: the pixels are cut
// into one chunk per thread, each chunk adds into its own zeroed buffer (items x width), and the buffers are
// summed into the output in chunk order. Buffers are capped at ~64 MiB in all (fewer chunks for large outputs).
#pragma once

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace mg {

// add_pixel(pix, acc_t* g) adds pixel pix's contributions into g (items x width, row-major).
template <typename acc_t, typename scalar_t, typename AddPixel>
void chunked_scatter_add(int64_t pixels, int64_t items, int64_t width, scalar_t* out, const AddPixel& add_pixel) {
  const int64_t n = items * width;
  if (pixels <= 0 || n <= 0) return;
  const int64_t max_chunks = std::max<int64_t>(1, (int64_t{64} << 20) / std::max<int64_t>(1, n * 8));
  const int64_t chunks = std::min<int64_t>({static_cast<int64_t>(at::get_num_threads()), max_chunks, pixels});
  std::vector<acc_t> buf(static_cast<size_t>(chunks * n), acc_t(0));
  at::parallel_for(0, chunks, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      acc_t* g = buf.data() + c * n;
      for (int64_t pix = pixels * c / chunks; pix < pixels * (c + 1) / chunks; ++pix) add_pixel(pix, g);
    }
  });
  at::parallel_for(0, n, 4096, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      acc_t s = 0;
      for (int64_t c = 0; c < chunks; ++c) s += buf[c * n + i];
      out[i] = static_cast<scalar_t>(s);
    }
  });
}

}  // namespace mg
