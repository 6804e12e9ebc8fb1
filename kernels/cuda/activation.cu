// Activations, forward and backward, as kernels/cpu/activation.h: one
// grid-stride loop per op (memory-bound: one load or two, one store per
// element). NaN inputs propagate exactly as on the CPU (the same selects).
#include "kernels/cuda/launch.h"

#include <stdexcept>
#include <string>

#include "kernels/cuda/backend.h"

namespace gc::cuda::GC_CUDA_NS {
namespace {

#define GC_FOR_EACH_ELEMENT(i, n) \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)

// `x < 0 ? 0 : x`, not `x > 0 ? x : 0`: a NaN fails the comparison and passes through.
__global__ void relu_forward_kernel(int64_t n, const float* x, float* y) {
  GC_FOR_EACH_ELEMENT(i, n) y[i] = x[i] < 0.0f ? 0.0f : x[i];
}
__global__ void relu_backward_kernel(int64_t n, const float* x, const float* dy, float* dx) {
  GC_FOR_EACH_ELEMENT(i, n) dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
}
__global__ void tanh_forward_kernel(int64_t n, const float* x, float* y) {
  GC_FOR_EACH_ELEMENT(i, n) y[i] = tanhf(x[i]);
}
__global__ void tanh_backward_kernel(int64_t n, const float* y, const float* dy, float* dx) {
  GC_FOR_EACH_ELEMENT(i, n) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
}
// With e = exp(−|x|) ∈ (0, 1]: σ(x) = 1/(1 + e) for x ≥ 0, e/(1 + e) below;
// exp never overflows.
__global__ void sigmoid_forward_kernel(int64_t n, const float* x, float* y) {
  GC_FOR_EACH_ELEMENT(i, n) {
    const float v = x[i];
    const float e = expf(-fabsf(v));
    const float s = 1.0f / (1.0f + e);
    y[i] = v >= 0.0f ? s : e * s;
  }
}
__global__ void sigmoid_backward_kernel(int64_t n, const float* y, const float* dy,
                                        float* dx) {
  GC_FOR_EACH_ELEMENT(i, n) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
}

#undef GC_FOR_EACH_ELEMENT

void check_length(const char* op, int64_t n) {
  if (n < 0) throw std::invalid_argument(std::string(op) + ": negative element count " + std::to_string(n));
}

}  // namespace

// (No __restrict__: outputs may alias an input, in place, as on the CPU.)
void relu_forward(int64_t n, const float* x, float* y) {
  check_length("relu_forward", n);
  if (n) GC_LAUNCH(relu_forward_kernel, grid_for(n), kBlock, 0, nullptr, n, x, y);
}
void relu_backward(int64_t n, const float* x, const float* dy, float* dx) {
  check_length("relu_backward", n);
  if (n) GC_LAUNCH(relu_backward_kernel, grid_for(n), kBlock, 0, nullptr, n, x, dy, dx);
}
void tanh_forward(int64_t n, const float* x, float* y) {
  check_length("tanh_forward", n);
  if (n) GC_LAUNCH(tanh_forward_kernel, grid_for(n), kBlock, 0, nullptr, n, x, y);
}
void tanh_backward(int64_t n, const float* y, const float* dy, float* dx) {
  check_length("tanh_backward", n);
  if (n) GC_LAUNCH(tanh_backward_kernel, grid_for(n), kBlock, 0, nullptr, n, y, dy, dx);
}
void sigmoid_forward(int64_t n, const float* x, float* y) {
  check_length("sigmoid_forward", n);
  if (n) GC_LAUNCH(sigmoid_forward_kernel, grid_for(n), kBlock, 0, nullptr, n, x, y);
}
void sigmoid_backward(int64_t n, const float* y, const float* dy, float* dx) {
  check_length("sigmoid_backward", n);
  if (n) GC_LAUNCH(sigmoid_backward_kernel, grid_for(n), kBlock, 0, nullptr, n, y, dy, dx);
}

}  // namespace gc::cuda::GC_CUDA_NS
