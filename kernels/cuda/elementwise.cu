// Elementwise arithmetic as kernels/cpu/elementwise.h: broadcasting binary
// ops over 4-D shapes (stride 0 along a broadcast dim, as on the CPU), the
// sum that undoes a broadcast, and scale / axpy / elementwise product.
//
// sum_to_shape gives each output element to one thread (short sums) or to
// one block (sums of kBlockSumMin terms or more: a block-wide tree). Either
// way each output is summed in an order fixed by the shape alone, so results
// are the same on every run and under every emulator schedule.
#include "kernels/cuda/launch.h"

#include <stdexcept>
#include <string>

#include "kernels/cuda/backend.h"

namespace gc::cuda::GC_CUDA_NS {
namespace {

constexpr int64_t kBlockSumMin = 256;

// Sizes and strides of a 4-D view, passed to kernels by value.
struct View4 {
  int64_t size[4];
  int64_t stride[4];
};

// The element offset of linear index i (row-major over size) in a view.
__device__ __forceinline__ int64_t offset_of(int64_t i, const int64_t (&size)[4], const int64_t (&stride)[4]) {
  int64_t off = 0;
#pragma unroll
  for (int d = 3; d >= 0; --d) {
    off += (i % size[d]) * stride[d];
    i /= size[d];
  }
  return off;
}

// No __restrict__ on out: it may be a or b (in place).
__global__ void binary_kernel(int op, int64_t total, View4 a, const float* pa, View4 b, const float* pb,
                              float* out) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const float x = pa[offset_of(i, a.size, a.stride)];
    const float y = pb[offset_of(i, b.size, b.stride)];
    out[i] = op == 0 ? x + y : (op == 1 ? x - y : x * y);
  }
}

// out[o] = Σ over the summed index space of in: `kept` maps o to its input
// offset, `summed` walks the terms (size 1 along kept dims).
__global__ void sum_to_shape_thread_kernel(int64_t out_total, View4 kept, View4 summed, int64_t terms,
                                           const float* __restrict__ in, float* __restrict__ out) {
  for (int64_t o = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; o < out_total;
       o += int64_t(gridDim.x) * blockDim.x) {
    const float* base = in + offset_of(o, kept.size, kept.stride);
    float s = 0.0f;
    for (int64_t t = 0; t < terms; ++t) s += base[offset_of(t, summed.size, summed.stride)];
    out[o] = s;
  }
}

__global__ void __launch_bounds__(kBlock)
    sum_to_shape_block_kernel(View4 kept, View4 summed, int64_t terms, const float* __restrict__ in,
                              float* __restrict__ out) {
  __shared__ float partial[kBlock];
  const float* base = in + offset_of(blockIdx.x, kept.size, kept.stride);
  float s = 0.0f;
  for (int64_t t = threadIdx.x; t < terms; t += kBlock) s += base[offset_of(t, summed.size, summed.stride)];
  partial[threadIdx.x] = s;
  __syncthreads();
  for (int half = kBlock / 2; half > 0; half /= 2) {
    if (int(threadIdx.x) < half) partial[threadIdx.x] += partial[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) out[blockIdx.x] = partial[0];
}

__global__ void scale_kernel(int64_t n, float alpha, const float* x, float* y) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = alpha * x[i];
}
__global__ void axpy_kernel(int64_t n, float alpha, const float* x, float* y) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] += alpha * x[i];
}
__global__ void mul_kernel(int64_t n, const float* a, const float* b, float* y) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = a[i] * b[i];
}

std::string shape_string(const cpu::Dims4& s) {
  return "[" + std::to_string(s.d[0]) + ", " + std::to_string(s.d[1]) + ", " + std::to_string(s.d[2]) + ", " +
         std::to_string(s.d[3]) + "]";
}

int64_t count(const char* op, const cpu::Dims4& s) {
  int64_t total = 1;
  for (int64_t d : s.d) {
    if (d < 0) throw std::invalid_argument(std::string(op) + ": negative size in shape " + shape_string(s));
    total *= d;
  }
  return total;
}

void check_length(const char* op, int64_t n) {
  if (n < 0) throw std::invalid_argument(std::string(op) + ": negative element count " + std::to_string(n));
}

}  // namespace

void binary_forward(cpu::BinaryOp op, const cpu::Dims4& out_shape, const float* a, const cpu::Dims4& a_strides,
                    const float* b, const cpu::Dims4& b_strides, float* out) {
  const int64_t total = count("binary_forward", out_shape);
  if (total == 0) return;
  View4 va{}, vb{};
  for (int d = 0; d < 4; ++d) {
    va.size[d] = vb.size[d] = out_shape.d[d];
    va.stride[d] = a_strides.d[d];
    vb.stride[d] = b_strides.d[d];
  }
  const int code = op == cpu::BinaryOp::Add ? 0 : (op == cpu::BinaryOp::Sub ? 1 : 2);
  GC_LAUNCH(binary_kernel, grid_for(total), kBlock, 0, nullptr, code, total, va, a, vb, b, out);
}

void sum_to_shape(const cpu::Dims4& in_shape, const float* in, const cpu::Dims4& out_shape, float* out) {
  const int64_t in_total = count("sum_to_shape", in_shape);
  const int64_t out_total = count("sum_to_shape", out_shape);
  for (int d = 0; d < 4; ++d)
    if (out_shape.d[d] != in_shape.d[d] && out_shape.d[d] != 1)
      throw std::invalid_argument("sum_to_shape: cannot sum " + shape_string(in_shape) + " to " +
                                  shape_string(out_shape) + " (dim " + std::to_string(d) + " must match or be 1)");
  if (out_total == 0) return;
  if (in_total == 0) {  // every output is an empty sum
    fill(out, out_total, 0.0f);
    return;
  }
  // Split the input's contiguous strides between the kept dims (indexed by
  // the output element) and the summed ones (indexed by the term).
  View4 kept{}, summed{};
  int64_t stride = 1, terms = 1;
  for (int d = 3; d >= 0; --d) {
    const bool keep = out_shape.d[d] == in_shape.d[d];
    kept.size[d] = keep ? in_shape.d[d] : 1;
    summed.size[d] = keep ? 1 : in_shape.d[d];
    kept.stride[d] = summed.stride[d] = stride;
    if (!keep) terms *= in_shape.d[d];
    stride *= in_shape.d[d];
  }
  if (terms >= kBlockSumMin && out_total <= 0x7fffffff)
    GC_LAUNCH(sum_to_shape_block_kernel, static_cast<unsigned>(out_total), kBlock, 0, nullptr, kept, summed, terms, in,
              out);
  else
    GC_LAUNCH(sum_to_shape_thread_kernel, grid_for(out_total), kBlock, 0, nullptr, out_total, kept, summed, terms, in,
              out);
}

void scale(int64_t n, float alpha, const float* x, float* y) {
  check_length("scale", n);
  if (n) GC_LAUNCH(scale_kernel, grid_for(n), kBlock, 0, nullptr, n, alpha, x, y);
}
void axpy(int64_t n, float alpha, const float* x, float* y) {
  check_length("axpy", n);
  if (n) GC_LAUNCH(axpy_kernel, grid_for(n), kBlock, 0, nullptr, n, alpha, x, y);
}
void mul_elementwise(int64_t n, const float* a, const float* b, float* y) {
  check_length("mul_elementwise", n);
  if (n) GC_LAUNCH(mul_kernel, grid_for(n), kBlock, 0, nullptr, n, a, b, y);
}

}  // namespace gc::cuda::GC_CUDA_NS
