// Opt-in reuse pool for large CPU kernel outputs (off by default); contract in cpu_pool.h.
#include "cpu_pool.h"

#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>
#include <torch/library.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <unordered_map>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace mg {
namespace cpu {
namespace {

constexpr int64_t kMinPooledBytes = int64_t{1} << 20;
constexpr size_t kAlign = size_t{1} << 21;  // 2 MiB: lets THP back whole blocks

struct Pool {
  std::mutex mutex;
  std::unordered_multimap<size_t, void*> free_blocks;
  size_t free_bytes = 0;  // guarded by mutex
  // Read without the lock on the allocation fast path; release() re-reads it under the lock.
  std::atomic<size_t> limit{0};

  Pool() {
    const char* env = std::getenv("MESHGRAPH_CPU_POOL_MB");
    const long long mb = env ? std::atoll(env) : 0;  // unset, 0 or not a number: off
    limit = mb > 0 ? static_cast<size_t>(std::min<long long>(mb, 1LL << 40)) << 20 : 0;
  }

  // Free blocks until at most `keep` bytes remain. Caller holds the mutex.
  void trim_locked(size_t keep) {
    for (auto it = free_blocks.begin(); it != free_blocks.end() && free_bytes > keep;) {
      free_bytes -= it->first;
      std::free(it->second);
      it = free_blocks.erase(it);
    }
  }

  void* acquire(size_t bytes) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      auto it = free_blocks.find(bytes);
      if (it != free_blocks.end()) {
        void* p = it->second;
        free_blocks.erase(it);
        free_bytes -= bytes;
        return p;
      }
    }
    void* p = nullptr;
    if (posix_memalign(&p, kAlign, bytes) != 0) return nullptr;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    madvise(p, bytes, MADV_HUGEPAGE);
#endif
    return p;
  }

  void release(void* p, size_t bytes) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (free_bytes + bytes <= limit.load()) {
        free_blocks.emplace(bytes, p);
        free_bytes += bytes;
        return;
      }
    }
    std::free(p);
  }
};

// Never destroyed: tensors may outlive static destruction at interpreter exit.
Pool& pool() {
  static Pool* p = new Pool();
  return *p;
}

}  // namespace

at::Tensor pooled_empty(c10::IntArrayRef sizes, const c10::TensorOptions& options) {
  int64_t numel = 1;
  for (auto s : sizes) numel *= s;
  const int64_t bytes = numel * static_cast<int64_t>(c10::elementSize(c10::typeMetaToScalarType(options.dtype())));
  Pool& p = pool();
  if (p.limit.load(std::memory_order_relaxed) == 0 || options.device().type() != c10::DeviceType::CPU ||
      bytes < kMinPooledBytes) {
    return at::empty(sizes, options);
  }
  void* ptr = p.acquire(static_cast<size_t>(bytes));
  if (ptr == nullptr) return at::empty(sizes, options);
  const size_t n = static_cast<size_t>(bytes);
  return at::from_blob(ptr, sizes, [n](void* q) { pool().release(q, n); }, options);
}

int64_t pool_free_bytes() {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  return static_cast<int64_t>(p.free_bytes);
}

void pool_clear() {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  p.trim_locked(0);
}

int64_t pool_limit_bytes() { return static_cast<int64_t>(pool().limit.load()); }

void pool_set_limit_mb(int64_t mb) {
  TORCH_CHECK(mb >= 0 && mb <= (int64_t{1} << 40), "the CPU pool limit must be in [0, 2^40] MiB, got ", mb);
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  p.limit = static_cast<size_t>(mb) << 20;
  p.trim_locked(p.limit);
}

}  // namespace cpu
}  // namespace mg

// Utility ops (no tensors): configure, inspect and empty the pool from Python (meshgraph.ops.memory).
TORCH_LIBRARY_FRAGMENT(meshgraph, m) {
  m.def("cpu_pool_free_bytes() -> int", &mg::cpu::pool_free_bytes);
  m.def("cpu_pool_clear() -> ()", &mg::cpu::pool_clear);
  m.def("cpu_pool_limit_bytes() -> int", &mg::cpu::pool_limit_bytes);
  m.def("cpu_pool_set_limit_mb(int mb) -> ()", &mg::cpu::pool_set_limit_mb);
}
