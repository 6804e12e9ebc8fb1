#include "engine/cuda_backend.h"

#include <mutex>
#include <stdexcept>

#include "engine/allocator.h"
#include "engine/storage.h"

namespace gc {

const cuda::Kernels& cuda_kernels(Device device) {
  if (device == Device::CUDA_EMU) return cuda::emu::kernels();
  if (device == Device::CUDA) {
#if defined(GRADCORE_HAVE_CUDA_GPU)
    if (cuda::gpu::kernels().device_count() > 0) return cuda::gpu::kernels();
    throw std::runtime_error("--device cuda: no CUDA device found; --device cuda-emu runs the same CUDA kernels "
                             "on the CPU emulator");
#else
    throw std::runtime_error("--device cuda: this build has no GPU backend (nvcc was not found at configure time); "
                             "--device cuda-emu runs the same CUDA kernels on the CPU emulator");
#endif
  }
  throw std::logic_error("cuda_kernels: device cpu has no CUDA kernels");
}

void ensure_device_allocator(Device device) {
  static std::once_flag once[3];
  std::call_once(once[static_cast<int>(device)], [device] {
    const cuda::Kernels& k = cuda_kernels(device);
    // Never destroyed, like the host allocator.
    auto* cache = new CachingAllocator([&k](size_t bytes) { return k.malloc(bytes); },
                                       [&k](void* p) { k.free(p); });
    register_device_allocator(device, {[cache](size_t n) { return cache->allocate(n); },
                                       [cache](void* p, size_t n) { cache->release(p, n); }});
  });
}

}  // namespace gc
