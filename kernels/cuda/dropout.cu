// Inverted dropout as kernels/cpu/dropout.h, with exactly the CPU's mask:
// element i is kept when uniform(counter_bits(seed, i)) ≥ p. The counter
// RNG of kernels/cpu/rng.h is constexpr host code, which nvcc does not call
// from a kernel without --expt-relaxed-constexpr, so the three functions it
// needs are restated here for both sides; the tests compare masks bit for bit.
#include "kernels/cuda/launch.h"

#include <stdexcept>
#include <string>

#include "kernels/cuda/backend.h"

namespace gc::cuda::GC_CUDA_NS {
namespace {

// splitmix64's mixer and the counter stream, as cpu::splitmix64_mix /
// counter_key / counter_bits_from_key.
constexpr uint64_t kGoldenGamma = 0x9e3779b97f4a7c15ull;
__host__ __device__ __forceinline__ uint64_t splitmix64_mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
// Uniform in [0, 1) from the top 24 bits, as cpu::uniform_float_from_bits.
__device__ __forceinline__ float uniform_float(uint64_t key, uint64_t index) {
  const uint64_t bits = splitmix64_mix(key + (index + 1) * kGoldenGamma);
  return static_cast<float>(static_cast<int32_t>(bits >> 40)) * 0x1.0p-24f;
}

__global__ void dropout_forward_kernel(int64_t n, float p, float keep_scale, uint64_t key, const float* x,
                                       float* __restrict__ mask, float* y) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const float m = uniform_float(key, static_cast<uint64_t>(i)) >= p ? keep_scale : 0.0f;
    mask[i] = m;
    y[i] = x[i] * m;
  }
}

__global__ void dropout_backward_kernel(int64_t n, const float* mask, const float* dy, float* dx) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    dx[i] = dy[i] * mask[i];
}

}  // namespace

void dropout_forward(int64_t n, float p, uint64_t seed, const float* x, float* mask, float* y) {
  if (n < 0) throw std::invalid_argument("dropout_forward: negative element count " + std::to_string(n));
  if (!(p >= 0.0f && p <= 1.0f))  // also rejects NaN
    throw std::invalid_argument("dropout_forward: drop probability " + std::to_string(p) + " is outside [0, 1]");
  const float keep_scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
  if (n) GC_LAUNCH(dropout_forward_kernel, grid_for(n), kBlock, 0, nullptr, n, p, keep_scale, splitmix64_mix(seed), x,
                   mask, y);
}

void dropout_backward(int64_t n, const float* mask, const float* dy, float* dx) {
  if (n < 0) throw std::invalid_argument("dropout_backward: negative element count " + std::to_string(n));
  if (n) GC_LAUNCH(dropout_backward_kernel, grid_for(n), kBlock, 0, nullptr, n, mask, dy, dx);
}

}  // namespace gc::cuda::GC_CUDA_NS
