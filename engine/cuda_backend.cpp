#include "engine/cuda_backend.h"

#include <mutex>
#include <stdexcept>

#include "engine/allocator.h"
#include "engine/storage.h"
#if defined(GRADCORE_CUDA_VENDOR_MODULE)
#include <dlfcn.h>

#include <cstdlib>
#endif

namespace gc {
namespace {

// Read on every op: a plain flag (set once, before training, from one thread).
bool use_vendor = false;

#if defined(GRADCORE_CUDA_VENDOR_MODULE)
// Loads the vendor module once: $GRADCORE_CUDA_VENDOR_MODULE, else the path
// the build wrote it to.
const cuda::Kernels& vendor_table() {
  static const cuda::Kernels* table = [] {
    const char* path = std::getenv("GRADCORE_CUDA_VENDOR_MODULE");
    if (!path) path = GRADCORE_CUDA_VENDOR_MODULE;
    void* module = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!module) throw std::runtime_error(std::string("--kernels vendor: cannot load ") + path + ": " + dlerror());
    using Entry = const cuda::Kernels* (*)();
    auto entry = reinterpret_cast<Entry>(dlsym(module, "gradcore_cuda_vendor_kernels"));
    if (!entry) throw std::runtime_error(std::string("--kernels vendor: ") + path + " has no vendor table");
    return entry();
  }();
  return *table;
}
#endif

#if defined(GRADCORE_HAVE_CUDA_GPU)
const cuda::Kernels& gpu_table() {
  if (!use_vendor) return cuda::gpu::kernels();
#if defined(GRADCORE_CUDA_VENDOR_MODULE)
  return vendor_table();
#else
  throw std::runtime_error("--kernels vendor: this build has no cuBLAS/cuDNN backend (cuDNN was not found at "
                           "configure time); --kernels ours runs our own CUDA kernels");
#endif
}
#endif

}  // namespace

void set_cuda_kernel_set(const std::string& set) {
  if (set != "ours" && set != "vendor")
    throw std::invalid_argument("unknown kernel set '" + set + "': expected ours or vendor");
  use_vendor = set == "vendor";
}

const cuda::Kernels& cuda_kernels(Device device) {
  if (device == Device::CUDA_EMU) {
    if (use_vendor)
      throw std::runtime_error("--kernels vendor needs a real GPU: cuBLAS and cuDNN cannot run on the emulator "
                               "(--device cuda-emu runs --kernels ours)");
    return cuda::emu::kernels();
  }
  if (device == Device::CUDA) {
#if defined(GRADCORE_HAVE_CUDA_GPU)
    if (cuda::gpu::kernels().device_count() > 0) return gpu_table();
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
