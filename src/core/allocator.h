// A caching allocator for tensor memory. Freed blocks go back to a free list of their size class
// and are handed out again, so a training step that repeats the shapes of the step before asks the
// system for no new memory (stats().system_allocs stays put). Thread-safe.
//
// The cache only ever holds memory nothing uses, so it gives it back before it would push the
// footprint (bytes in use + bytes cached) past a limit: on a miss that would cross it, cached
// blocks go back to the system, largest first, as PyTorch's CUDA allocator frees its cache
// before it reports out of memory. The process-wide allocator's limit is CUBIST_CACHE_LIMIT_MB,
// else three quarters of the machine's memory: a job whose live tensors fit is not killed for
// memory its cache holds, and a training step that repeats its shapes never reaches the limit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <vector>

namespace cubist {

struct AllocatorStats {
  uint64_t system_allocs = 0;    // blocks obtained from the system, ever
  uint64_t requests = 0;         // allocate() calls, ever
  size_t bytes_in_use = 0;       // handed out and not yet released
  size_t peak_bytes_in_use = 0;  // high-water mark of bytes_in_use since reset_peak()
  size_t bytes_cached = 0;       // released blocks waiting on a free list
};

// The machine's physical memory in bytes (SIZE_MAX when the system does not say).
size_t physical_memory_bytes();
// What one job may plan to hold: three quarters of physical memory.
size_t memory_budget_bytes();

class Allocator {
 public:
  static Allocator& cpu();  // the process-wide allocator for host memory

  // cache_limit: the footprint past which cached blocks are given back (0: cache nothing).
  explicit Allocator(size_t cache_limit = SIZE_MAX) : cache_limit_(cache_limit) {}
  Allocator(const Allocator&) = delete;
  Allocator& operator=(const Allocator&) = delete;

  // 64-byte aligned (blocks of 8 MiB or more: 2 MiB, in huge pages where the kernel allows);
  // bytes == 0 gives a valid pointer.
  void* allocate(size_t bytes);
  void release(void* p, size_t bytes);  // bytes: the same value given to allocate()
  AllocatorStats stats() const;
  void reset_peak();
  void empty_cache();  // returns every cached block to the system

  static size_t size_class(size_t bytes);  // the block size that a request of `bytes` receives

  ~Allocator();

 private:
  mutable std::mutex mu_;
  // Gives cached blocks back, largest first, until in use + cached fits the limit.
  void trim_locked();

  const size_t cache_limit_;
  std::map<size_t, std::vector<void*>> free_;
  AllocatorStats stats_;
};

}  // namespace cubist
