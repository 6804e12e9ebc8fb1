// The CUDA runtime API on the host. Every call completes before it returns,
// so streams and events are trivially ordered.
#include "kernels/cuda/emu/host_api.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>

struct CUstream_st {
  int unused = 0;
};
struct CUevent_st {
  std::chrono::steady_clock::time_point when{};
  bool recorded = false;
};

namespace gc::emu {
namespace {

struct LastError {
  cudaError_t code = cudaSuccess;
  std::string detail;
};
thread_local LastError last_error;

// Live device allocations (start -> bytes), streams, events and per-kernel
// attributes; one lock for all of them.
std::mutex registry_mutex;
std::map<const std::byte*, std::size_t> allocations;
std::set<const CUstream_st*> streams;
std::set<const CUevent_st*> events;
std::unordered_map<const void*, std::size_t> dynamic_shared_limits;

// Whether [ptr, ptr + bytes) lies inside one live allocation.
bool inside_allocation(const void* ptr, std::size_t bytes) {
  const auto* p = static_cast<const std::byte*>(ptr);
  std::lock_guard lock(registry_mutex);
  auto it = allocations.upper_bound(p);
  if (it == allocations.begin()) return false;
  --it;
  return p + bytes <= it->first + it->second;
}

std::string range(const void* ptr, std::size_t bytes) {
  char text[96];
  std::snprintf(text, sizeof text, "[%p, +%zu bytes)", ptr, bytes);
  return text;
}

// Checks a copy's pointers against its kind (cudaMemcpyDefault checks none).
cudaError_t check_copy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind) {
  if (kind < cudaMemcpyHostToHost || kind > cudaMemcpyDefault) {
    return set_error(cudaErrorInvalidMemcpyDirection, "cudaMemcpy: unknown cudaMemcpyKind");
  }
  if (bytes == 0) return cudaSuccess;
  if (!dst || !src) return set_error(cudaErrorInvalidValue, "cudaMemcpy: null pointer");
  const bool device_src = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
  const bool device_dst = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
  if (device_src && !inside_allocation(src, bytes)) {
    return set_error(cudaErrorInvalidValue, ("cudaMemcpy: source " + range(src, bytes) +
                                             " is not inside one device allocation")
                                                .c_str());
  }
  if (device_dst && !inside_allocation(dst, bytes)) {
    return set_error(cudaErrorInvalidValue, ("cudaMemcpy: destination " + range(dst, bytes) +
                                             " is not inside one device allocation")
                                                .c_str());
  }
  return cudaSuccess;
}

}  // namespace

cudaError_t set_error(cudaError_t error, const char* detail) {
  last_error.code = error;
  last_error.detail = detail ? detail : "";
  return error;
}

const char* last_error_detail() { return last_error.detail.c_str(); }

std::size_t max_dynamic_shared_bytes(const void* kernel) {
  std::lock_guard lock(registry_mutex);
  auto it = dynamic_shared_limits.find(kernel);
  return it == dynamic_shared_limits.end() ? kDefaultDynamicSharedBytes : it->second;
}

bool is_valid_stream(cudaStream_t stream) {
  if (!stream) return true;
  std::lock_guard lock(registry_mutex);
  return streams.count(stream) != 0;
}

}  // namespace gc::emu

using gc::emu::set_error;

cudaError_t cudaMalloc(void** ptr, std::size_t bytes) {
  if (!ptr) return set_error(cudaErrorInvalidValue, "cudaMalloc: null result pointer");
  *ptr = nullptr;
  if (bytes == 0) return cudaSuccess;
  // 256-byte alignment, like cudaMalloc; exact size, so memcheck bounds it.
  void* memory = nullptr;
  if (posix_memalign(&memory, 256, bytes) != 0) return set_error(cudaErrorMemoryAllocation, "cudaMalloc: out of host memory");
  std::lock_guard lock(gc::emu::registry_mutex);
  gc::emu::allocations.emplace(static_cast<std::byte*>(memory), bytes);
  *ptr = memory;
  return cudaSuccess;
}

cudaError_t cudaFree(void* ptr) {
  if (!ptr) return cudaSuccess;
  {
    std::lock_guard lock(gc::emu::registry_mutex);
    if (gc::emu::allocations.erase(static_cast<std::byte*>(ptr)) == 0) {
      return set_error(cudaErrorInvalidValue, "cudaFree: pointer did not come from cudaMalloc (or was freed)");
    }
  }
  std::free(ptr);
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind) {
  if (cudaError_t error = gc::emu::check_copy(dst, src, bytes, kind)) return error;
  if (bytes) std::memmove(dst, src, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t stream) {
  if (!gc::emu::is_valid_stream(stream)) return set_error(cudaErrorInvalidResourceHandle, "unknown stream");
  return cudaMemcpy(dst, src, bytes, kind);
}

cudaError_t cudaMemset(void* ptr, int value, std::size_t bytes) {
  if (bytes == 0) return cudaSuccess;
  if (!gc::emu::inside_allocation(ptr, bytes)) {
    return set_error(cudaErrorInvalidValue,
                     ("cudaMemset: " + gc::emu::range(ptr, bytes) + " is not inside one device allocation").c_str());
  }
  std::memset(ptr, value, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void* ptr, int value, std::size_t bytes, cudaStream_t stream) {
  if (!gc::emu::is_valid_stream(stream)) return set_error(cudaErrorInvalidResourceHandle, "unknown stream");
  return cudaMemset(ptr, value, bytes);
}

cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }

cudaError_t cudaGetDeviceCount(int* count) {
  if (!count) return set_error(cudaErrorInvalidValue);
  *count = 1;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
  return device == 0 ? cudaSuccess : set_error(cudaErrorInvalidDevice, "the emulator has one device, 0");
}

cudaError_t cudaGetDevice(int* device) {
  if (!device) return set_error(cudaErrorInvalidValue);
  *device = 0;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (!prop) return set_error(cudaErrorInvalidValue);
  if (device != 0) return set_error(cudaErrorInvalidDevice, "the emulator has one device, 0");
  *prop = {};
  std::snprintf(prop->name, sizeof prop->name, "gradcore CUDA emulator (H100 limits)");
  prop->totalGlobalMem = std::size_t{80} << 30;
  prop->sharedMemPerBlock = gc::emu::kDefaultDynamicSharedBytes;
  prop->sharedMemPerBlockOptin = gc::emu::kMaxDynamicSharedBytesOptin;
  prop->sharedMemPerMultiprocessor = 228 * 1024;
  prop->regsPerBlock = 65536;
  prop->warpSize = 32;
  prop->maxThreadsPerBlock = 1024;
  prop->maxThreadsDim[0] = prop->maxThreadsDim[1] = 1024;
  prop->maxThreadsDim[2] = 64;
  prop->maxGridSize[0] = 0x7fffffff;
  prop->maxGridSize[1] = prop->maxGridSize[2] = 65535;
  prop->maxThreadsPerMultiProcessor = 2048;
  prop->maxBlocksPerMultiProcessor = 32;
  prop->multiProcessorCount = 132;
  prop->major = 9;
  prop->minor = 0;
  return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t* stream) {
  if (!stream) return set_error(cudaErrorInvalidValue);
  *stream = new CUstream_st;
  std::lock_guard lock(gc::emu::registry_mutex);
  gc::emu::streams.insert(*stream);
  return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  {
    std::lock_guard lock(gc::emu::registry_mutex);
    if (!stream || gc::emu::streams.erase(stream) == 0) {
      return set_error(cudaErrorInvalidResourceHandle, "cudaStreamDestroy: unknown stream");
    }
  }
  delete stream;
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  return gc::emu::is_valid_stream(stream) ? cudaSuccess
                                          : set_error(cudaErrorInvalidResourceHandle, "unknown stream");
}

cudaError_t cudaEventCreate(cudaEvent_t* event) {
  if (!event) return set_error(cudaErrorInvalidValue);
  *event = new CUevent_st;
  std::lock_guard lock(gc::emu::registry_mutex);
  gc::emu::events.insert(*event);
  return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t event) {
  {
    std::lock_guard lock(gc::emu::registry_mutex);
    if (!event || gc::emu::events.erase(event) == 0) {
      return set_error(cudaErrorInvalidResourceHandle, "cudaEventDestroy: unknown event");
    }
  }
  delete event;
  return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  {
    std::lock_guard lock(gc::emu::registry_mutex);
    if (!gc::emu::events.count(event)) return set_error(cudaErrorInvalidResourceHandle, "unknown event");
  }
  if (!gc::emu::is_valid_stream(stream)) return set_error(cudaErrorInvalidResourceHandle, "unknown stream");
  event->when = std::chrono::steady_clock::now();
  event->recorded = true;
  return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  std::lock_guard lock(gc::emu::registry_mutex);
  return gc::emu::events.count(event) ? cudaSuccess : set_error(cudaErrorInvalidResourceHandle, "unknown event");
}

cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  if (!ms) return set_error(cudaErrorInvalidValue);
  {
    std::lock_guard lock(gc::emu::registry_mutex);
    if (!gc::emu::events.count(start) || !gc::emu::events.count(end)) {
      return set_error(cudaErrorInvalidResourceHandle, "unknown event");
    }
  }
  if (!start->recorded || !end->recorded) return set_error(cudaErrorInvalidResourceHandle, "event not recorded");
  *ms = std::chrono::duration<float, std::milli>(end->when - start->when).count();
  return cudaSuccess;
}

cudaError_t cudaGetLastError() {
  const cudaError_t error = gc::emu::last_error.code;
  gc::emu::last_error.code = cudaSuccess;
  return error;
}

cudaError_t cudaPeekAtLastError() { return gc::emu::last_error.code; }

const char* cudaGetErrorName(cudaError_t error) {
  switch (error) {
#define GC_EMU_NAME(code) \
  case code: return #code;
    GC_EMU_NAME(cudaSuccess)
    GC_EMU_NAME(cudaErrorInvalidValue)
    GC_EMU_NAME(cudaErrorMemoryAllocation)
    GC_EMU_NAME(cudaErrorInvalidConfiguration)
    GC_EMU_NAME(cudaErrorInvalidDevicePointer)
    GC_EMU_NAME(cudaErrorInvalidMemcpyDirection)
    GC_EMU_NAME(cudaErrorInvalidDeviceFunction)
    GC_EMU_NAME(cudaErrorNoDevice)
    GC_EMU_NAME(cudaErrorInvalidDevice)
    GC_EMU_NAME(cudaErrorInvalidResourceHandle)
    GC_EMU_NAME(cudaErrorNotReady)
    GC_EMU_NAME(cudaErrorIllegalAddress)
    GC_EMU_NAME(cudaErrorLaunchOutOfResources)
    GC_EMU_NAME(cudaErrorLaunchFailure)
#undef GC_EMU_NAME
  }
  return "cudaErrorUnknown";
}

const char* cudaGetErrorString(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer";
    case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
    case cudaErrorInvalidDeviceFunction: return "invalid device function";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
    case cudaErrorLaunchOutOfResources: return "too many resources requested for launch";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
  }
  return "unknown error";
}

cudaError_t cudaFuncSetAttribute(const void* kernel, cudaFuncAttribute attribute, int value) {
  if (attribute != cudaFuncAttributeMaxDynamicSharedMemorySize) {
    return set_error(cudaErrorInvalidValue, "cudaFuncSetAttribute: the emulator knows only MaxDynamicSharedMemorySize");
  }
  if (!kernel || value < 0 || static_cast<std::size_t>(value) > gc::emu::kMaxDynamicSharedBytesOptin) {
    return set_error(cudaErrorInvalidValue, "cudaFuncSetAttribute: dynamic shared memory over 227 KB");
  }
  std::lock_guard lock(gc::emu::registry_mutex);
  gc::emu::dynamic_shared_limits[kernel] = static_cast<std::size_t>(value);
  return cudaSuccess;
}
