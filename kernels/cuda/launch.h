// The one way project code launches a CUDA kernel, and the one way a kernel
// reaches its dynamic shared memory. Every kernels/cuda/*.cu includes this
// header first: under nvcc it brings the CUDA runtime and launches with
// <<<...>>>; under the host compiler it brings the emulator
// (kernels/cuda/emu/cuda_emu.h), which runs the same source on the CPU.
//
//   GC_LAUNCH(kernel, grid, block, dynamic_shared_bytes, stream, args...);
//   GC_CUDA_CHECK(cudaMemcpy(...));
//
// Both throw gc::cuda::Error naming the file, line, kernel or call and
// CUDA's error. A template kernel with commas in its name goes in
// parentheses: GC_LAUNCH((sgemm<64, 8>), ...).
#pragma once

#if defined(__CUDACC__)
#include <cuda_runtime.h>
#else
#include "kernels/cuda/emu/cuda_emu.h"
#endif

#include <stdexcept>
#include <string>

namespace gc::cuda {

struct Error : std::runtime_error {
  Error(cudaError_t code, const std::string& message) : std::runtime_error(message), code(code) {}
  cudaError_t code;
};

// Throws when `code` is an error; `what` names the kernel or the call.
inline void check(cudaError_t code, const char* what, const char* file, int line) {
  if (code == cudaSuccess) return;
  std::string message = std::string(file) + ":" + std::to_string(line) + ": " + what + ": " +
                        cudaGetErrorName(code) + " (" + cudaGetErrorString(code) + ")";
#if !defined(__CUDACC__)
  const std::string detail = ::gc::emu::last_error_detail();
  if (!detail.empty()) message += ": " + detail;
#endif
  throw Error(code, message);
}

}  // namespace gc::cuda

#define GC_CUDA_CHECK(call) ::gc::cuda::check((call), #call, __FILE__, __LINE__)

#if defined(__CUDACC__)
#define GC_LAUNCH(kernel, grid, block, dynamic_shared_bytes, stream, ...)                                  \
  do {                                                                                                      \
    kernel<<<(grid), (block), (dynamic_shared_bytes), (stream)>>>(__VA_ARGS__);                             \
    ::gc::cuda::check(cudaGetLastError(), "launch of " #kernel, __FILE__, __LINE__);                        \
  } while (0)
#else
#define GC_LAUNCH(kernel, grid, block, dynamic_shared_bytes, stream, ...)                                    \
  ::gc::cuda::check(::gc::emu::launch(kernel, #kernel, (grid), (block), (dynamic_shared_bytes),              \
                                      (stream)__VA_OPT__(, ) __VA_ARGS__),                                   \
                    "launch of " #kernel, __FILE__, __LINE__)
#endif

// The block's dynamic shared memory (the launch's dynamic_shared_bytes),
// viewed as T. Use this instead of `extern __shared__`.
template <typename T>
__device__ __forceinline__ T* gc_dynamic_shared() {
#if defined(__CUDACC__)
  extern __shared__ __align__(16) unsigned char gc_dynamic_shared_bytes[];
  return reinterpret_cast<T*>(gc_dynamic_shared_bytes);
#else
  return static_cast<T*>(::gc::emu::detail::dynamic_shared());
#endif
}
