// cuBLAS and cuDNN behind our kernel table: `--kernels vendor`, and the
// baselines of the gpu tests (tests/cuda/) and benchmarks (bench/cuda/).
//
//   const gc::cuda::Kernels& k = gc::cuda::vendor::kernels();
//
// The table is gc::cuda::gpu::kernels() with sgemm and the four conv2d
// entries replaced: sgemm is cuBLAS SGEMM, conv2d forward / grad-input /
// grad-weight / grad-bias are cuDNN. Everything else, pooling included, is
// ours: our max pooling returns the argmax the engine's backward reads, and
// cuDNN's has no argmax output (its backward needs x and y instead).
//
// FP32 throughout, no TF32: cuBLAS in CUBLAS_DEFAULT_MATH (which never uses
// TF32 for SGEMM; the NVIDIA_TF32_OVERRIDE environment variable is not set
// by us), cuDNN convolutions in CUDNN_FMA_MATH. The handles are created on
// first use and live for the process; the cuDNN workspace grows to the
// largest call and is kept. Device pointers, default stream, row-major /
// NCHW like ours; the ops mean what kernels/cuda/ops.h says. Failures throw
// std::runtime_error naming file, line, call and the library's status;
// invalid shapes throw std::invalid_argument. Only in builds with nvcc and
// cuDNN (the gc_cuda_vendor library), and it runs only on a real GPU.
#pragma once

#include "kernels/cpu/conv2d.h"
#include "kernels/cpu/pool2d.h"
#include "kernels/cuda/ops.h"

namespace gc::cuda::vendor {

const Kernels& kernels();

// The table's vendor entries, also called directly by tests and benchmarks.
// C = alpha·op(A)·op(B) + beta·C, row-major, as cpu::sgemm.
void sgemm(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
           float beta, float* c, int ldc);
void conv2d_forward(const cpu::Conv2dShape& s, const float* x, const float* w, const float* bias, float* y);
void conv2d_backward_input(const cpu::Conv2dShape& s, const float* dy, const float* w, float* dx);
void conv2d_backward_weight(const cpu::Conv2dShape& s, const float* x, const float* dy, float* dw);
void conv2d_backward_bias(const cpu::Conv2dShape& s, const float* dy, float* db);

// cuDNN max pooling without argmax: a baseline for tests and benchmarks
// only (not in the table, see above).
void max_pool2d_forward(const cpu::Pool2dShape& s, const float* x, float* y);

}  // namespace gc::cuda::vendor
