// Σ x[i], as kernels/cpu/reduce.h's sum, in two launches: block b sums a
// grid-stride share of x into partial[b] (each thread a running sum, then a
// tree over the block in shared memory), then one block sums the partials
// the same way. The grid size depends on n only, so the order of additions,
// and the result, are the same on every run. Rounding: each thread's running
// sum adds at most n/(blocks·256) terms, the trees log2 steps more; the tests
// allow 1e-5·Σ|x| against the CPU's pairwise sum.
#include "kernels/cuda/launch.h"

#include <stdexcept>
#include <string>

#include "kernels/cuda/backend.h"

namespace gc::cuda::GC_CUDA_NS {
namespace {

// In-block tree sum of one value per thread; the result is valid in thread 0.
__device__ float block_sum(float v) {
  __shared__ float partial[kBlock];
  partial[threadIdx.x] = v;
  __syncthreads();
  for (int half = kBlock / 2; half > 0; half /= 2) {
    if (int(threadIdx.x) < half) partial[threadIdx.x] += partial[threadIdx.x + half];
    __syncthreads();
  }
  return partial[0];
}

__global__ void __launch_bounds__(kBlock) partial_sum_kernel(int64_t n, const float* __restrict__ x,
                                                             float* __restrict__ partial) {
  float s = 0.0f;
  for (int64_t i = blockIdx.x * int64_t(kBlock) + threadIdx.x; i < n; i += int64_t(gridDim.x) * kBlock) s += x[i];
  const float total = block_sum(s);
  if (threadIdx.x == 0) partial[blockIdx.x] = total;
}

}  // namespace

float sum(int64_t n, const float* x) {
  if (n < 0) throw std::invalid_argument("sum: negative element count " + std::to_string(n));
  if (n == 0) return 0.0f;
  // Blocks of 256 threads, each thread summing about 8 elements, at most 1024 blocks.
  const int64_t wanted = (n + 8 * kBlock - 1) / (8 * kBlock);
  const unsigned blocks = static_cast<unsigned>(wanted < kMaxBlocks ? wanted : kMaxBlocks);
  auto* partial = static_cast<float*>(workspace(Workspace::reduce_partials, (blocks + 1) * sizeof(float)));
  GC_LAUNCH(partial_sum_kernel, blocks, kBlock, 0, nullptr, n, x, partial);
  GC_LAUNCH(partial_sum_kernel, 1, kBlock, 0, nullptr, int64_t(blocks), partial, partial + blocks);
  float result = 0.0f;
  copy_to_host(&result, partial + blocks, sizeof(float));
  return result;
}

}  // namespace gc::cuda::GC_CUDA_NS
