#include "engine/allocator.h"

#include <bit>
#include <cstdlib>
#include <new>

namespace gc {

CachingAllocator::CachingAllocator(RawAllocate raw_allocate, RawFree raw_free)
    : raw_allocate_(std::move(raw_allocate)), raw_free_(std::move(raw_free)) {}

CachingAllocator& CachingAllocator::host() {
  static CachingAllocator* allocator =
      new CachingAllocator([](size_t bytes) { return std::aligned_alloc(64, bytes); }, [](void* p) { std::free(p); });
  return *allocator;
}

size_t CachingAllocator::bucket_size(size_t bytes) {
  constexpr size_t kMin = 256;
  if (bytes <= kMin) return kMin;
  // Four size classes between consecutive powers of two: step = 2^(floor(log2)-2).
  size_t step = std::bit_floor(bytes) / 4;
  return (bytes + step - 1) / step * step;
}

void* CachingAllocator::allocate(size_t bytes) {
  size_t size = bucket_size(bytes);
  {
    std::lock_guard lock(mutex_);
    ++stats_.allocations;
    auto it = free_lists_.find(size);
    if (it != free_lists_.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      ++stats_.cache_hits;
      stats_.bytes_cached -= static_cast<int64_t>(size);
      stats_.bytes_in_use += static_cast<int64_t>(size);
      return p;
    }
  }
  void* p = raw_allocate_(size);
  if (!p) {  // out of memory: give the cache back and try once more
    empty_cache();
    p = raw_allocate_(size);
    if (!p) throw std::bad_alloc();
  }
  std::lock_guard lock(mutex_);
  stats_.bytes_in_use += static_cast<int64_t>(size);
  return p;
}

void CachingAllocator::release(void* ptr, size_t bytes) {
  if (!ptr) return;
  size_t size = bucket_size(bytes);
  std::lock_guard lock(mutex_);
  free_lists_[size].push_back(ptr);
  stats_.bytes_in_use -= static_cast<int64_t>(size);
  stats_.bytes_cached += static_cast<int64_t>(size);
}

void CachingAllocator::empty_cache() {
  std::lock_guard lock(mutex_);
  for (auto& [size, blocks] : free_lists_)
    for (void* p : blocks) raw_free_(p);
  free_lists_.clear();
  stats_.bytes_cached = 0;
}

AllocatorStats CachingAllocator::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

}  // namespace gc
