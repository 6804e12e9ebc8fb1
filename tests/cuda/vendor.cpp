// cuBLAS / cuDNN baselines (vendor.h). Handles are created on first use and
// live for the process. Row-major C = op(A)·op(B) is column-major
// Cᵀ = op(B)ᵀ·op(A)ᵀ, so cuBLAS gets B first. Convolutions use the cuDNN 9
// legacy-API entry points that remain (cudnnConvolutionForward and friends,
// cudnnFind* to pick an algorithm once per shape).
#include "tests/cuda/vendor.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <stdexcept>
#include <string>

namespace gc::cuda::vendor {
namespace {

void check(cublasStatus_t status, const char* what) {
  if (status != CUBLAS_STATUS_SUCCESS) throw std::runtime_error(std::string(what) + ": cuBLAS status " + std::to_string(status));
}
void check(cudnnStatus_t status, const char* what) {
  if (status != CUDNN_STATUS_SUCCESS) throw std::runtime_error(std::string(what) + ": " + cudnnGetErrorString(status));
}
void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(status));
}

cublasHandle_t blas() {
  static cublasHandle_t handle = [] {
    cublasHandle_t h;
    check(cublasCreate(&h), "cublasCreate");
    check(cublasSetMathMode(h, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");  // FP32, no TF32
    return h;
  }();
  return handle;
}

cudnnHandle_t dnn() {
  static cudnnHandle_t handle = [] {
    cudnnHandle_t h;
    check(cudnnCreate(&h), "cudnnCreate");
    return h;
  }();
  return handle;
}

void* scratch(size_t bytes) {
  static void* p = nullptr;
  static size_t have = 0;
  if (bytes > have) {
    if (p) check(cudaFree(p), "cudaFree");
    check(cudaMalloc(&p, bytes), "cudaMalloc");
    have = bytes;
  }
  return p;
}

// The descriptors of one convolution; destroyed with it.
struct Conv {
  cudnnTensorDescriptor_t x, y, bias;
  cudnnFilterDescriptor_t w;
  cudnnConvolutionDescriptor_t conv;
  explicit Conv(const cpu::Conv2dShape& s) {
    check(cudnnCreateTensorDescriptor(&x), "x");
    check(cudnnCreateTensorDescriptor(&y), "y");
    check(cudnnCreateTensorDescriptor(&bias), "bias");
    check(cudnnCreateFilterDescriptor(&w), "w");
    check(cudnnCreateConvolutionDescriptor(&conv), "conv");
    check(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, s.n, s.c_in, s.h, s.w), "x");
    check(cudnnSetFilter4dDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, s.c_out, s.c_in, s.kh, s.kw), "w");
    check(cudnnSetConvolution2dDescriptor(conv, s.pad_h, s.pad_w, s.stride_h, s.stride_w, s.dil_h, s.dil_w,
                                          CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
          "conv");
    check(cudnnSetConvolutionMathType(conv, CUDNN_FMA_MATH), "math type");
    check(cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, s.n, s.c_out, s.out_h(), s.out_w()), "y");
    check(cudnnSetTensor4dDescriptor(bias, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, s.c_out, 1, 1), "bias");
  }
  ~Conv() {
    cudnnDestroyTensorDescriptor(x);
    cudnnDestroyTensorDescriptor(y);
    cudnnDestroyTensorDescriptor(bias);
    cudnnDestroyFilterDescriptor(w);
    cudnnDestroyConvolutionDescriptor(conv);
  }
};

}  // namespace

void sgemm(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
           float beta, float* c, int ldc) {
  check(cublasSgemm(blas(), tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &alpha, b, ldb,
                    a, lda, &beta, c, ldc),
        "cublasSgemm");
}

void conv2d_forward(const cpu::Conv2dShape& s, const float* x, const float* w, const float* bias, float* y) {
  Conv d(s);
  cudnnConvolutionFwdAlgoPerf_t perf;
  int found = 0;
  check(cudnnGetConvolutionForwardAlgorithm_v7(dnn(), d.x, d.w, d.conv, d.y, 1, &found, &perf), "forward algorithm");
  const float one = 1.0f, zero = 0.0f;
  check(cudnnConvolutionForward(dnn(), &one, d.x, x, d.w, w, d.conv, perf.algo, scratch(perf.memory), perf.memory,
                                &zero, d.y, y),
        "cudnnConvolutionForward");
  if (bias) check(cudnnAddTensor(dnn(), &one, d.bias, bias, &one, d.y, y), "cudnnAddTensor");
}

void conv2d_backward_input(const cpu::Conv2dShape& s, const float* dy, const float* w, float* dx) {
  Conv d(s);
  cudnnConvolutionBwdDataAlgoPerf_t perf;
  int found = 0;
  check(cudnnGetConvolutionBackwardDataAlgorithm_v7(dnn(), d.w, d.y, d.conv, d.x, 1, &found, &perf), "data algorithm");
  const float one = 1.0f, zero = 0.0f;
  check(cudnnConvolutionBackwardData(dnn(), &one, d.w, w, d.y, dy, d.conv, perf.algo, scratch(perf.memory),
                                     perf.memory, &zero, d.x, dx),
        "cudnnConvolutionBackwardData");
}

void conv2d_backward_weight(const cpu::Conv2dShape& s, const float* x, const float* dy, float* dw) {
  Conv d(s);
  cudnnConvolutionBwdFilterAlgoPerf_t perf;
  int found = 0;
  check(cudnnGetConvolutionBackwardFilterAlgorithm_v7(dnn(), d.x, d.y, d.conv, d.w, 1, &found, &perf),
        "filter algorithm");
  const float one = 1.0f, zero = 0.0f;
  check(cudnnConvolutionBackwardFilter(dnn(), &one, d.x, x, d.y, dy, d.conv, perf.algo, scratch(perf.memory),
                                       perf.memory, &zero, d.w, dw),
        "cudnnConvolutionBackwardFilter");
}

void max_pool2d_forward(const cpu::Pool2dShape& s, const float* x, float* y) {
  cudnnPoolingDescriptor_t pool;
  cudnnTensorDescriptor_t xd, yd;
  check(cudnnCreatePoolingDescriptor(&pool), "pool");
  check(cudnnCreateTensorDescriptor(&xd), "x");
  check(cudnnCreateTensorDescriptor(&yd), "y");
  check(cudnnSetPooling2dDescriptor(pool, CUDNN_POOLING_MAX, CUDNN_PROPAGATE_NAN, s.kh, s.kw, s.pad_h, s.pad_w,
                                    s.stride_h, s.stride_w),
        "pool");
  check(cudnnSetTensor4dDescriptor(xd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, s.n, s.c, s.h, s.w), "x");
  check(cudnnSetTensor4dDescriptor(yd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, s.n, s.c, s.out_h(), s.out_w()), "y");
  const float one = 1.0f, zero = 0.0f;
  const cudnnStatus_t status = cudnnPoolingForward(dnn(), pool, &one, xd, x, &zero, yd, y);
  cudnnDestroyTensorDescriptor(xd);
  cudnnDestroyTensorDescriptor(yd);
  cudnnDestroyPoolingDescriptor(pool);
  check(status, "cudnnPoolingForward");
}

}  // namespace gc::cuda::vendor
