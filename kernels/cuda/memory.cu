// Device memory for the CUDA backend: allocation, copies, fill, the grow-only
// workspaces, and the device count. Under the emulator device memory is host
// memory and every call completes before it returns.
#include "kernels/cuda/launch.h"

#include "kernels/cuda/backend.h"

namespace gc::cuda::GC_CUDA_NS {
namespace {

__global__ void fill_kernel(float* __restrict__ p, int64_t n, float value) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    p[i] = value;
}

struct Buffer {
  void* data = nullptr;
  size_t bytes = 0;
};

}  // namespace

int device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // no driver or no device: not an error to carry into the next call
    return 0;
  }
  return count;
}

void* device_malloc(size_t bytes) {
  void* p = nullptr;
  if (bytes == 0) return nullptr;
  GC_CUDA_CHECK(cudaMalloc(&p, bytes));
  return p;
}

void device_free(void* p) {
  if (p) GC_CUDA_CHECK(cudaFree(p));
}

void copy_to_device(void* dst, const void* src, size_t bytes) {
  if (bytes) GC_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, nullptr));
}

void copy_to_host(void* dst, const void* src, size_t bytes) {
  if (bytes) GC_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}

void copy_device(void* dst, const void* src, size_t bytes) {
  if (bytes) GC_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, nullptr));
}

void fill(float* p, int64_t n, float value) {
  if (n > 0) GC_LAUNCH(fill_kernel, grid_for(n), kBlock, 0, nullptr, p, n, value);
}

void synchronize() { GC_CUDA_CHECK(cudaDeviceSynchronize()); }

void* workspace(Workspace slot, size_t bytes) {
  static Buffer buffers[4];
  Buffer& b = buffers[static_cast<int>(slot)];
  if (b.bytes < bytes) {
    // The old buffer may still be read by queued kernels: cudaFree waits for them.
    if (b.data) GC_CUDA_CHECK(cudaFree(b.data));
    b.data = nullptr;
    b.bytes = 0;
    GC_CUDA_CHECK(cudaMalloc(&b.data, bytes));
    b.bytes = bytes;
  }
  return b.data;
}

}  // namespace gc::cuda::GC_CUDA_NS
