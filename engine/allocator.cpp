#include "engine/allocator.h"

#include <bit>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <vector>

namespace gc {

struct HostAllocator::Impl {
  std::mutex mutex;
  std::map<size_t, std::vector<void*>> free_lists;  // bucket size → blocks
  AllocatorStats stats;
};

HostAllocator& HostAllocator::instance() {
  static HostAllocator allocator;
  return allocator;
}

// Never destroyed: blocks may be released by static tensors during exit.
HostAllocator::Impl& HostAllocator::impl() const {
  static Impl* state = new Impl;
  return *state;
}

size_t HostAllocator::bucket_size(size_t bytes) {
  constexpr size_t kMin = 256;
  if (bytes <= kMin) return kMin;
  // Four size classes between consecutive powers of two: step = 2^(floor(log2)-2).
  size_t step = std::bit_floor(bytes) / 4;
  return (bytes + step - 1) / step * step;
}

void* HostAllocator::allocate(size_t bytes) {
  size_t size = bucket_size(bytes);
  auto& s = impl();
  {
    std::lock_guard lock(s.mutex);
    ++s.stats.allocations;
    auto it = s.free_lists.find(size);
    if (it != s.free_lists.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      ++s.stats.cache_hits;
      s.stats.bytes_cached -= static_cast<int64_t>(size);
      s.stats.bytes_in_use += static_cast<int64_t>(size);
      return p;
    }
  }
  void* p = std::aligned_alloc(64, size);
  if (!p) throw std::bad_alloc();
  std::lock_guard lock(s.mutex);
  s.stats.bytes_in_use += static_cast<int64_t>(size);
  return p;
}

void HostAllocator::release(void* ptr, size_t bytes) {
  if (!ptr) return;
  size_t size = bucket_size(bytes);
  auto& s = impl();
  std::lock_guard lock(s.mutex);
  s.free_lists[size].push_back(ptr);
  s.stats.bytes_in_use -= static_cast<int64_t>(size);
  s.stats.bytes_cached += static_cast<int64_t>(size);
}

void HostAllocator::empty_cache() {
  auto& s = impl();
  std::lock_guard lock(s.mutex);
  for (auto& [size, blocks] : s.free_lists)
    for (void* p : blocks) std::free(p);
  s.free_lists.clear();
  s.stats.bytes_cached = 0;
}

AllocatorStats HostAllocator::stats() const {
  auto& s = impl();
  std::lock_guard lock(s.mutex);
  return s.stats;
}

}  // namespace gc
