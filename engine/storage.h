// The memory behind one or more tensors. Views (reshape, flatten, detach)
// share a Storage; it returns its block to the caching allocator when the
// last view goes away.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

#include "engine/dtype.h"

namespace gc {

class Storage {
 public:
  // Fresh, uninitialised memory on `device`.
  Storage(size_t bytes, Device device);
  // Memory owned elsewhere (e.g. an mmap'ed model file); `release` runs when
  // the storage dies.
  Storage(void* data, size_t bytes, Device device, std::function<void()> release);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

 private:
  void* data_;
  size_t bytes_;
  Device device_;
  std::function<void()> release_;
};

// Allocation hooks per device: the CUDA backend registers its own (a caching
// device allocator) so Storage needs no knowledge of CUDA.
struct DeviceAllocator {
  std::function<void*(size_t)> allocate;
  std::function<void(void*, size_t)> release;
};
void register_device_allocator(Device device, DeviceAllocator allocator);

}  // namespace gc
