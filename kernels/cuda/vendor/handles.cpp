#include "kernels/cuda/vendor/handles.h"

#include <stdexcept>
#include <string>

namespace gc::cuda::vendor {
namespace {

[[noreturn]] void fail(const char* call, const char* file, int line, const std::string& status) {
  throw std::runtime_error(std::string(file) + ":" + std::to_string(line) + ": " + call + ": " + status);
}

}  // namespace

void check(cublasStatus_t status, const char* call, const char* file, int line) {
  if (status != CUBLAS_STATUS_SUCCESS)
    fail(call, file, line, std::string(cublasGetStatusName(status)) + " (" + cublasGetStatusString(status) + ")");
}

void check(cudnnStatus_t status, const char* call, const char* file, int line) {
  if (status == CUDNN_STATUS_SUCCESS) return;
  char detail[512] = "";
  cudnnGetLastErrorString(detail, sizeof detail);  // cuDNN 9: why, when it knows
  const std::string why = detail[0] ? std::string(" (") + detail + ")" : "";
  fail(call, file, line, cudnnGetErrorString(status) + why);
}

void check(cudaError_t status, const char* call, const char* file, int line) {
  if (status != cudaSuccess)
    fail(call, file, line, std::string(cudaGetErrorName(status)) + " (" + cudaGetErrorString(status) + ")");
}

cublasHandle_t blas() {
  static const cublasHandle_t handle = [] {
    cublasHandle_t h;
    GC_VENDOR_CHECK(cublasCreate(&h));
    GC_VENDOR_CHECK(cublasSetMathMode(h, CUBLAS_DEFAULT_MATH));  // FP32 SGEMM, no TF32
    return h;
  }();
  return handle;
}

cudnnHandle_t dnn() {
  static const cudnnHandle_t handle = [] {
    cudnnHandle_t h;
    GC_VENDOR_CHECK(cudnnCreate(&h));
    return h;
  }();
  return handle;
}

void* workspace(size_t bytes) {
  static void* p = nullptr;
  static size_t have = 0;
  if (bytes > have) {
    if (p) GC_VENDOR_CHECK(cudaFree(p));
    p = nullptr;
    have = 0;
    GC_VENDOR_CHECK(cudaMalloc(&p, bytes));
    have = bytes;
  }
  return bytes ? p : nullptr;
}

}  // namespace gc::cuda::vendor
