// Index arithmetic usable from host and device code. Always int64.
#pragma once

#include <c10/macros/Macros.h>
#include <cstdint>

namespace mg {

C10_HOST_DEVICE inline int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : (v > hi ? hi : v); }

}  // namespace mg
