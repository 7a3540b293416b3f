// Output buffers for CPU kernels from a small reuse pool.
//
// A fresh large CPU tensor costs ~0.5 ms per MB in page faults on the machines we measure (more than the
// kernel's arithmetic): a 70 MB gather-scatter output pays ~35 ms before a single add. Kernels therefore take
// large outputs (>= 1 MiB) from this pool: a freed output's pages go back to the pool, warm, and the next output
// of the same byte size reuses them. New blocks are 2 MiB aligned and madvise(MADV_HUGEPAGE)d, so the kernel may
// back them with transparent huge pages where THP is in "madvise" mode.
//
// The pool holds at most MESHGRAPH_CPU_POOL_MB MiB of free blocks (default 1024; 0 turns pooling off); blocks
// beyond that are returned to the system when freed. Tensors from the pool are ordinary CPU tensors (non-resizable
// storage, like any from_blob tensor).
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/TensorOptions.h>

namespace mg {
namespace cpu {

// Uninitialized CPU tensor of `sizes`; pooled when large, at::empty otherwise.
at::Tensor pooled_empty(c10::IntArrayRef sizes, const c10::TensorOptions& options);

// Bytes currently held by the pool in free blocks.
int64_t pool_free_bytes();

// Return every free block to the system.
void pool_clear();

}  // namespace cpu
}  // namespace mg
