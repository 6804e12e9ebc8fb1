// Inside gc_cuda_vendor: status checks with file and line, the lazily
// created cuBLAS / cuDNN handles, and the cuDNN workspace.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <cstddef>

namespace gc::cuda::vendor {

// Each throws std::runtime_error "file:line: call: STATUS_NAME (description)"
// unless the status is success.
void check(cublasStatus_t status, const char* call, const char* file, int line);
void check(cudnnStatus_t status, const char* call, const char* file, int line);
void check(cudaError_t status, const char* call, const char* file, int line);

// Created on the first call (cuBLAS in CUBLAS_DEFAULT_MATH), never destroyed.
cublasHandle_t blas();
cudnnHandle_t dnn();

// At least `bytes` of device memory, reused across calls and grown (after a
// device synchronisation, by cudaFree) when a call needs more; null for 0.
// Like the conv descriptor cache (conv2d.cpp), for one host thread at a
// time: the engine drives the device from one thread.
void* workspace(size_t bytes);

}  // namespace gc::cuda::vendor

#define GC_VENDOR_CHECK(call) ::gc::cuda::vendor::check((call), #call, __FILE__, __LINE__)
