// A size-bucketed caching allocator, one per device.
//
// Training allocates the same activation and gradient sizes every step. Going
// to malloc/free (or cudaMalloc/cudaFree) each time lets glibc hand big
// buffers back to the OS (munmap) and page-fault them in again on the next
// step; on this 2-core VM that costs PyTorch up to 6x on one conv, and
// cudaMalloc synchronises the device. Instead, freed blocks are kept in
// per-size free lists and reused. Sizes are rounded up to one of four steps
// per power of two, so at most 25% is wasted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <vector>

namespace gc {

struct AllocatorStats {
  int64_t allocations = 0;   // calls to allocate()
  int64_t cache_hits = 0;    // served from a free list
  int64_t bytes_in_use = 0;  // handed out and not yet released
  int64_t bytes_cached = 0;  // held in free lists
};

class CachingAllocator {
 public:
  using RawAllocate = std::function<void*(size_t bytes)>;
  using RawFree = std::function<void(void* ptr)>;

  CachingAllocator(RawAllocate raw_allocate, RawFree raw_free);
  // The host allocator (64-byte aligned blocks). Never destroyed: tensors in
  // static objects may release blocks during exit.
  static CachingAllocator& host();

  // At least `bytes` long; throws std::bad_alloc when the raw allocation
  // fails even after emptying the cache. allocate(0) returns a valid block.
  void* allocate(size_t bytes);
  void release(void* ptr, size_t bytes);
  // Gives every cached block back to the raw allocator.
  void empty_cache();
  AllocatorStats stats() const;

  // The size class a request of `bytes` is rounded up to.
  static size_t bucket_size(size_t bytes);

 private:
  RawAllocate raw_allocate_;
  RawFree raw_free_;
  mutable std::mutex mutex_;
  std::map<size_t, std::vector<void*>> free_lists_;  // bucket size → blocks
  AllocatorStats stats_;
};

}  // namespace gc
