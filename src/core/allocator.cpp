#include "core/allocator.h"

#include <bit>
#include <cstdlib>
#include <new>

namespace cubist {

Allocator& Allocator::cpu() {
  static Allocator* a = new Allocator();  // never destroyed: tensors may outlive static teardown
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
  }
  void* p = std::aligned_alloc(64, cls);
  if (!p) {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.bytes_in_use -= cls;
    throw std::bad_alloc();
  }
  return p;
}

void Allocator::release(void* p, size_t bytes) {
  if (!p) return;
  const size_t cls = size_class(bytes);
  std::lock_guard<std::mutex> lock(mu_);
  stats_.bytes_in_use -= cls;
  stats_.bytes_cached += cls;
  free_[cls].push_back(p);
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
