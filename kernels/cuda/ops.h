// The CUDA backend as the engine sees it: one table of plain function
// pointers per variant, with no CUDA type in sight, so host code includes
// this header without the CUDA toolkit.
//
//   const gc::cuda::Kernels& k = gc::cuda::emu::kernels();   // the emulator, always built
//   const gc::cuda::Kernels& k = gc::cuda::gpu::kernels();   // nvcc builds only (gc_cuda_gpu)
//
// Every pointer argument is device memory (host memory under the emulator,
// from k.malloc). Functions launch on the default stream and return without
// synchronising, except copy_to_host and those that return a value to the
// host (sum, softmax_cross_entropy_forward). Errors (a failed launch or
// runtime call) throw gc::cuda::Error (kernels/cuda/launch.h), a
// std::runtime_error naming the file, line and CUDA error; invalid shapes
// throw std::invalid_argument.
//
// The ops mean exactly what the CPU kernels of the same name mean
// (kernels/cpu/*.h, float only), with the same argument order; the tests in
// tests/cuda/ hold every one to its CPU twin.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/cpu/conv2d.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/pool2d.h"

namespace gc::cuda {

// C = alpha·op(A)·op(B) + beta·C, row-major, as cpu::sgemm (C is not read when beta == 0).
using SgemmFn = void (*)(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda,
                         const float* b, int ldb, float beta, float* c, int ldc);

// One numbered SGEMM version (kernels/cuda/sgemm_v*.cu), kept for study,
// tests and benchmarks; the table's sgemm is the last one.
struct SgemmVersion {
  const char* name;     // "v1_naive", ...
  const char* summary;  // what it changes, in a few words
  SgemmFn fn;
};

struct Kernels {
  const char* name;  // "cuda", "cuda-emu" or "cuda-vendor" (kernels/cuda/vendor/vendor.h)
  int (*device_count)();  // CUDA devices present (the emulator is one); 0 when none or no driver

  void* (*malloc)(size_t bytes);
  void (*free)(void* p);
  void (*copy_to_device)(void* dst, const void* src, size_t bytes);
  void (*copy_to_host)(void* dst, const void* src, size_t bytes);  // synchronises
  void (*copy_device)(void* dst, const void* src, size_t bytes);
  void (*fill)(float* p, int64_t n, float value);
  void (*synchronize)();

  SgemmFn sgemm;
  const SgemmVersion* sgemm_versions;  // v1 ... vN, oldest first
  int sgemm_version_count;

  void (*conv2d_forward)(const cpu::Conv2dShape& s, const float* x, const float* w, const float* bias, float* y);
  void (*conv2d_backward_input)(const cpu::Conv2dShape& s, const float* dy, const float* w, float* dx);
  void (*conv2d_backward_weight)(const cpu::Conv2dShape& s, const float* x, const float* dy, float* dw);
  void (*conv2d_backward_bias)(const cpu::Conv2dShape& s, const float* dy, float* db);

  void (*max_pool2d_forward)(const cpu::Pool2dShape& s, const float* x, float* y, int32_t* argmax);
  void (*max_pool2d_backward)(const cpu::Pool2dShape& s, const float* dy, const int32_t* argmax, float* dx);
  void (*avg_pool2d_forward)(const cpu::Pool2dShape& s, const float* x, float* y);
  void (*avg_pool2d_backward)(const cpu::Pool2dShape& s, const float* dy, float* dx);

  void (*relu_forward)(int64_t n, const float* x, float* y);
  void (*relu_backward)(int64_t n, const float* x, const float* dy, float* dx);
  void (*tanh_forward)(int64_t n, const float* x, float* y);
  void (*tanh_backward)(int64_t n, const float* y, const float* dy, float* dx);
  void (*sigmoid_forward)(int64_t n, const float* x, float* y);
  void (*sigmoid_backward)(int64_t n, const float* y, const float* dy, float* dx);

  void (*binary_forward)(cpu::BinaryOp op, const cpu::Dims4& out_shape, const float* a, const cpu::Dims4& a_strides,
                         const float* b, const cpu::Dims4& b_strides, float* out);
  void (*sum_to_shape)(const cpu::Dims4& in_shape, const float* in, const cpu::Dims4& out_shape, float* out);
  void (*scale)(int64_t n, float alpha, const float* x, float* y);            // y = alpha·x
  void (*axpy)(int64_t n, float alpha, const float* x, float* y);             // y += alpha·x
  void (*mul_elementwise)(int64_t n, const float* a, const float* b, float* y);  // y = a·b
  float (*sum)(int64_t n, const float* x);                                    // returns to the host

  void (*log_softmax_forward)(int64_t rows, int64_t cols, const float* x, float* y);
  void (*log_softmax_backward)(int64_t rows, int64_t cols, const float* y, const float* dy, float* dx);
  // labels are device memory; returns the mean loss (synchronises). A label
  // outside [0, cols) throws std::invalid_argument after the launch.
  float (*softmax_cross_entropy_forward)(int64_t rows, int64_t cols, const float* logits, const int32_t* labels,
                                         float* probs);
  void (*softmax_cross_entropy_backward)(int64_t rows, int64_t cols, const float* probs, const int32_t* labels,
                                         float dloss, float* dlogits);

  // The same mask as cpu::dropout_forward for the same (seed, index).
  void (*dropout_forward)(int64_t n, float p, uint64_t seed, const float* x, float* mask, float* y);
  void (*dropout_backward)(int64_t n, const float* mask, const float* dy, float* dx);

  void (*sgd_update)(int64_t n, float* w, const float* g, float* velocity, int64_t step, float lr, float momentum,
                     float weight_decay, bool nesterov);
  void (*adam_update)(int64_t n, float* w, const float* g, float* m, float* v, int64_t step, float lr, float beta1,
                      float beta2, float eps, float weight_decay, bool decoupled);
};

namespace emu {
const Kernels& kernels();  // gc_cuda_emu (and its _tsan/_asan variants)
}
namespace gpu {
const Kernels& kernels();  // gc_cuda_gpu, only when nvcc built it
}

}  // namespace gc::cuda
