// cuBLAS and cuDNN doing what our kernels do, as baselines for the `gpu`
// tests (tests/cuda/test_vendor.cpp) and the benchmarks (bench/cuda/).
// FP32 only: cuBLAS in its default math mode (no TF32) and cuDNN with
// CUDNN_FMA_MATH. Device pointers, default stream; row-major / NCHW like ours.
#pragma once

#include "kernels/cpu/conv2d.h"
#include "kernels/cpu/pool2d.h"

namespace gc::cuda::vendor {

// C = alpha·op(A)·op(B) + beta·C, row-major, as cpu::sgemm.
void sgemm(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
           float beta, float* c, int ldc);

void conv2d_forward(const cpu::Conv2dShape& s, const float* x, const float* w, const float* bias, float* y);
void conv2d_backward_input(const cpu::Conv2dShape& s, const float* dy, const float* w, float* dx);
void conv2d_backward_weight(const cpu::Conv2dShape& s, const float* x, const float* dy, float* dw);
void max_pool2d_forward(const cpu::Pool2dShape& s, const float* x, float* y);

}  // namespace gc::cuda::vendor
