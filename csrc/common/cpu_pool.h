// Output buffers for CPU kernels: at::empty by default, an opt-in reuse pool for large outputs.
//
// Every CPU kernel allocates its outputs through pooled_empty. By default (pool limit 0) that is exactly
// at::empty: PyTorch's allocator, visible to its profiler and memory statistics. A user may opt in to a small
// reuse pool, with MESHGRAPH_CPU_POOL_MB=<MiB> (read at first use) or meshgraph.ops.memory.set_cpu_pool_limit(mb):
// outputs >= 1 MiB then come from freed blocks of the same byte size, whose pages are already faulted in (a fresh
// large CPU tensor pays its page faults on first write). New blocks are 2 MiB aligned and madvise(MADV_HUGEPAGE)d.
// The pool keeps at most the limit in free blocks; blocks beyond it go back to the system when freed. Pooled
// tensors are ordinary CPU tensors (non-resizable storage, like any from_blob tensor), but their bytes are not
// counted by PyTorch's allocator statistics. Whether the pool pays off is measured in docs/benchmarks.md.
//
// Run-time changes are safe: a block handed out while the pool was on is freed with the same allocator
// (std::free) whenever its tensor dies, and kept for reuse only if the pool is on (and has room) at that time.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/TensorOptions.h>

namespace mg {
namespace cpu {

// Uninitialized CPU tensor of `sizes`: at::empty, or a pooled block when the pool is on and the tensor is large.
at::Tensor pooled_empty(c10::IntArrayRef sizes, const c10::TensorOptions& options);

// Bytes currently held by the pool in free blocks.
int64_t pool_free_bytes();

// Return every free block to the system.
void pool_clear();

// The most bytes the pool keeps in free blocks; 0 (the default) means off: every output is at::empty.
int64_t pool_limit_bytes();

// Set the limit in MiB (0 turns the pool off); free blocks beyond the new limit go back to the system.
void pool_set_limit_mb(int64_t mb);

}  // namespace cpu
}  // namespace mg
