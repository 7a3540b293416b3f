// Index arithmetic usable from host and device code. Always int64.
#pragma once

#include <c10/macros/Macros.h>
#include <cstdint>

namespace mg {

C10_HOST_DEVICE inline int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : (v > hi ? hi : v); }

// The row (CSR row, packed set, cloud) that entry k falls in, given the rows' start offsets: the last
// r in [0, rows) with offsets[r] <= k (std::upper_bound(offsets, offsets + rows, k) - offsets - 1), or -1 when
// rows == 0 or k < offsets[0]. Binary search, O(log rows). Reads offsets[0, rows) only, so it is memory-safe
// whatever the offsets hold: with CSR row pointers pass rows = V (not V + 1), so r + 1 <= V and rowptr[r + 1] is
// in bounds even when rowptr[V] < E. Unsorted offsets (not checked on CUDA) give some r in [-1, rows); callers
// that must own k check offsets[r] <= k < end of row r (and r >= 0).
template <typename index_t>
C10_HOST_DEVICE inline int64_t row_of_entry(const index_t* offsets, int64_t rows, int64_t k) {
  int64_t lo = 0, hi = rows;  // invariant: offsets[i] <= k for i < lo, > k for i >= hi
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (static_cast<int64_t>(offsets[mid]) <= k) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo - 1;
}

}  // namespace mg
