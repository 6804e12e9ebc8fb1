// The CUDA backend's host functions, declared once for both variants (each
// .cu defines its family's functions in gc::cuda::GC_CUDA_NS; kernels.cu puts
// them in the table of kernels/cuda/ops.h), and the launch-size helpers they
// share. Included by kernels/cuda/*.cu after kernels/cuda/launch.h.
#pragma once

#include <cstdint>

#include "kernels/cuda/backend_namespace.h"
#include "kernels/cuda/ops.h"

namespace gc::cuda::GC_CUDA_NS {

// Elementwise kernels walk their range with a grid-stride loop over at most
// this many blocks of kBlock threads: enough to fill an H100 (132 SMs × 8
// resident blocks of 256), and few enough fibers for the emulator.
constexpr int kBlock = 256;
constexpr int64_t kMaxBlocks = 1024;
inline unsigned grid_for(int64_t n) {
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks < kMaxBlocks ? blocks : kMaxBlocks));
}

// memory.cu
int device_count();
void* device_malloc(size_t bytes);
void device_free(void* p);
void copy_to_device(void* dst, const void* src, size_t bytes);
void copy_to_host(void* dst, const void* src, size_t bytes);
void copy_device(void* dst, const void* src, size_t bytes);
void fill(float* p, int64_t n, float value);
void synchronize();
// Grow-only device scratch buffers, one per slot, reused across calls (no
// cudaMalloc in the training step once they reached their size). The backend
// is driven from one host thread on the default stream, so a slot's contents
// are never in use by two calls at once.
enum class Workspace { conv_columns, conv_gemm, reduce_partials, loss };
void* workspace(Workspace slot, size_t bytes);

// sgemm_v*.cu (C = alpha·op(A)·op(B) + beta·C, row-major)
void sgemm_v1_naive(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
                    int ldb, float beta, float* c, int ldc);
void sgemm_v2_coalesced(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
                        int ldb, float beta, float* c, int ldc);
void sgemm_v3_shared(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
                     int ldb, float beta, float* c, int ldc);
void sgemm_v4_blocktile_1d(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda,
                           const float* b, int ldb, float beta, float* c, int ldc);
void sgemm_v5_blocktile_2d(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda,
                           const float* b, int ldb, float beta, float* c, int ldc);
void sgemm_v6_vectorized(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda,
                         const float* b, int ldb, float beta, float* c, int ldc);
void sgemm_v7_warptile(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
                       int ldb, float beta, float* c, int ldc);

// conv2d.cu
void conv2d_forward(const cpu::Conv2dShape& s, const float* x, const float* w, const float* bias, float* y);
void conv2d_backward_input(const cpu::Conv2dShape& s, const float* dy, const float* w, float* dx);
void conv2d_backward_weight(const cpu::Conv2dShape& s, const float* x, const float* dy, float* dw);
void conv2d_backward_bias(const cpu::Conv2dShape& s, const float* dy, float* db);

// pool2d.cu
void max_pool2d_forward(const cpu::Pool2dShape& s, const float* x, float* y, int32_t* argmax);
void max_pool2d_backward(const cpu::Pool2dShape& s, const float* dy, const int32_t* argmax, float* dx);
void avg_pool2d_forward(const cpu::Pool2dShape& s, const float* x, float* y);
void avg_pool2d_backward(const cpu::Pool2dShape& s, const float* dy, float* dx);

// activation.cu
void relu_forward(int64_t n, const float* x, float* y);
void relu_backward(int64_t n, const float* x, const float* dy, float* dx);
void tanh_forward(int64_t n, const float* x, float* y);
void tanh_backward(int64_t n, const float* y, const float* dy, float* dx);
void sigmoid_forward(int64_t n, const float* x, float* y);
void sigmoid_backward(int64_t n, const float* y, const float* dy, float* dx);

// elementwise.cu
void binary_forward(cpu::BinaryOp op, const cpu::Dims4& out_shape, const float* a, const cpu::Dims4& a_strides,
                    const float* b, const cpu::Dims4& b_strides, float* out);
void sum_to_shape(const cpu::Dims4& in_shape, const float* in, const cpu::Dims4& out_shape, float* out);
void scale(int64_t n, float alpha, const float* x, float* y);
void axpy(int64_t n, float alpha, const float* x, float* y);
void mul_elementwise(int64_t n, const float* a, const float* b, float* y);

// reduce.cu
float sum(int64_t n, const float* x);

// softmax.cu
void log_softmax_forward(int64_t rows, int64_t cols, const float* x, float* y);
void log_softmax_backward(int64_t rows, int64_t cols, const float* y, const float* dy, float* dx);
float softmax_cross_entropy_forward(int64_t rows, int64_t cols, const float* logits, const int32_t* labels,
                                    float* probs);
void softmax_cross_entropy_backward(int64_t rows, int64_t cols, const float* probs, const int32_t* labels,
                                    float dloss, float* dlogits);

// dropout.cu
void dropout_forward(int64_t n, float p, uint64_t seed, const float* x, float* mask, float* y);
void dropout_backward(int64_t n, const float* mask, const float* dy, float* dx);

// optimizer.cu
void sgd_update(int64_t n, float* w, const float* g, float* velocity, int64_t step, float lr, float momentum,
                float weight_decay, bool nesterov);
void adam_update(int64_t n, float* w, const float* g, float* m, float* v, int64_t step, float lr, float beta1,
                 float beta2, float eps, float weight_decay, bool decoupled);

}  // namespace gc::cuda::GC_CUDA_NS
