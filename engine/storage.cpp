#include "engine/storage.h"

#include <array>
#include <stdexcept>
#include <string>

#include "engine/allocator.h"
#include "engine/cuda_backend.h"

namespace gc {

static std::array<DeviceAllocator, 3>& device_allocators() {
  static std::array<DeviceAllocator, 3> table = [] {
    std::array<DeviceAllocator, 3> t;
    auto& host = CachingAllocator::host();
    t[static_cast<int>(Device::CPU)] = {[&host](size_t n) { return host.allocate(n); },
                                        [&host](void* p, size_t n) { host.release(p, n); }};
    return t;
  }();
  return table;
}

void register_device_allocator(Device device, DeviceAllocator allocator) {
  device_allocators()[static_cast<int>(device)] = std::move(allocator);
}

Storage::Storage(size_t bytes, Device device) : bytes_(bytes), device_(device) {
  if (device != Device::CPU) ensure_device_allocator(device);
  auto& alloc = device_allocators()[static_cast<int>(device)];
  if (!alloc.allocate)
    throw std::runtime_error(std::string("no allocator for device '") + device_name(device) +
                             "' (is the backend built and initialised?)");
  data_ = alloc.allocate(bytes);
  release_ = [release = alloc.release, p = data_, bytes] { release(p, bytes); };
}

Storage::Storage(void* data, size_t bytes, Device device, std::function<void()> release)
    : data_(data), bytes_(bytes), device_(device), release_(std::move(release)) {}

Storage::~Storage() {
  if (release_) release_();
}

}  // namespace gc
