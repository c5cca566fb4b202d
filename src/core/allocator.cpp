#include "core/allocator.h"

#include <sys/mman.h>
#include <unistd.h>

#include <bit>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <new>

namespace cubist {

namespace {

// CUBIST_CACHE_LIMIT_MB if set, else three quarters of physical memory.
size_t default_cache_limit() {
  if (const char* mb = std::getenv("CUBIST_CACHE_LIMIT_MB"); mb && *mb) {
    char* end = nullptr;
    const unsigned long long v = std::strtoull(mb, &end, 10);
    if (end != mb && *end == '\0' && *mb != '-') return static_cast<size_t>(v) << 20;  // -5 wraps
    std::fprintf(stderr, "cubist: CUBIST_CACHE_LIMIT_MB=%s is not a whole number of MB; ignored\n",
                 mb);
  }
  return memory_budget_bytes();
}

// Blocks of at least this size are asked for in huge pages (2 MiB), where the kernel takes
// madvise's word for it (transparent_hugepage "madvise" or "always"): the first touch of a large
// tensor then faults once every 2 MiB rather than every 4 KiB, and on this machine's VM a fault
// costs about 7 us (half of a 512x512 autoencoder pass went to faults: docs/PERFORMANCE.md).
constexpr size_t kHugePage = size_t{2} << 20;
constexpr size_t kHugeFrom = 4 * kHugePage;

void* system_alloc(size_t cls) {
  if (cls < kHugeFrom) return std::aligned_alloc(64, cls);
  const size_t bytes = (cls + kHugePage - 1) / kHugePage * kHugePage;
  void* p = std::aligned_alloc(kHugePage, bytes);
  if (p) madvise(p, bytes, MADV_HUGEPAGE);  // advice: where refused, plain pages serve
  return p;
}

}  // namespace

size_t physical_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return SIZE_MAX;
  return static_cast<size_t>(pages) * static_cast<size_t>(page);
}

size_t memory_budget_bytes() {
  const size_t total = physical_memory_bytes();
  return total == SIZE_MAX ? total : total / 4 * 3;
}

Allocator& Allocator::cpu() {
  // Never destroyed: tensors may outlive static teardown.
  static Allocator* a = new Allocator(default_cache_limit());
  return *a;
}

// Four classes per power of two above 4 KiB (at most 25% slack); multiples of 64 below.
size_t Allocator::size_class(size_t bytes) {
  if (bytes <= 4096) return bytes == 0 ? 64 : (bytes + 63) / 64 * 64;
  const size_t top = std::bit_floor(bytes);
  const size_t quarter = top / 4;
  return (bytes + quarter - 1) / quarter * quarter;
}

void* Allocator::allocate(size_t bytes) {
  const size_t cls = size_class(bytes);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.requests;
    stats_.bytes_in_use += cls;
    if (stats_.bytes_in_use > stats_.peak_bytes_in_use)
      stats_.peak_bytes_in_use = stats_.bytes_in_use;
    auto it = free_.find(cls);
    if (it != free_.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      stats_.bytes_cached -= cls;
      return p;
    }
    ++stats_.system_allocs;
    trim_locked();
  }
  void* p = system_alloc(cls);
  if (!p) {  // the system refused: give back the whole cache and ask once more
    empty_cache();
    p = system_alloc(cls);
  }
  if (!p) {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.bytes_in_use -= cls;
    throw std::bad_alloc();
  }
  return p;
}

void Allocator::trim_locked() {
  // Largest first: the fewest blocks to give back, and small classes are the likeliest to be
  // asked for again soon.
  while (!free_.empty() && stats_.bytes_in_use + stats_.bytes_cached > cache_limit_) {
    auto it = std::prev(free_.end());
    if (!it->second.empty()) {  // a class whose blocks are all in use again keeps an empty list
      std::free(it->second.back());
      it->second.pop_back();
      stats_.bytes_cached -= it->first;
    }
    if (it->second.empty()) free_.erase(it);
  }
}

void Allocator::release(void* p, size_t bytes) {
  if (!p) return;
  const size_t cls = size_class(bytes);
  std::lock_guard<std::mutex> lock(mu_);
  stats_.bytes_in_use -= cls;
  stats_.bytes_cached += cls;
  free_[cls].push_back(p);
  trim_locked();
}

AllocatorStats Allocator::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void Allocator::reset_peak() {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.peak_bytes_in_use = stats_.bytes_in_use;
}

void Allocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [cls, blocks] : free_)
    for (void* p : blocks) std::free(p);
  free_.clear();
  stats_.bytes_cached = 0;
}

Allocator::~Allocator() { empty_cache(); }

}  // namespace cubist
