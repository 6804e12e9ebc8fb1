// Zoo: a shared-memory tree sum per block. block_sum_divergent_barrier puts
// the __syncthreads inside `if (tid < stride)`: the other threads never reach
// it (undefined on a GPU; the emulator stops with an error naming the kernel,
// block, threads and the barrier's line).
#include "kernels/cuda/launch.h"
#include "tests/cuda_emu/zoo/zoo.h"

namespace {

constexpr int kBlock = 256;

template <bool kDivergent>
__device__ void tree_sum(const float* __restrict__ in, float* __restrict__ out) {
  __shared__ float sums[kBlock];
  const unsigned tid = threadIdx.x;
  sums[tid] = in[blockIdx.x * kBlock + tid];
  __syncthreads();
  for (unsigned stride = kBlock / 2; stride > 0; stride /= 2) {
    if (tid < stride) {
      sums[tid] += sums[tid + stride];
      if (kDivergent) __syncthreads();  // zoo:divergent-barrier
    }
    if (!kDivergent) __syncthreads();
  }
  if (tid == 0) out[blockIdx.x] = sums[0];
}

__global__ void __launch_bounds__(kBlock) block_sum_kernel(const float* __restrict__ in, float* __restrict__ out) {
  tree_sum<false>(in, out);
}
__global__ void __launch_bounds__(kBlock)
    block_sum_divergent_barrier_kernel(const float* __restrict__ in, float* __restrict__ out) {
  tree_sum<true>(in, out);
}

}  // namespace

namespace gc::zoo {

void block_sum(const float* in, float* out, int blocks) {
  GC_LAUNCH(block_sum_kernel, blocks, kBlock, 0, nullptr, in, out);
}
void block_sum_divergent_barrier(const float* in, float* out, int blocks) {
  GC_LAUNCH(block_sum_divergent_barrier_kernel, blocks, kBlock, 0, nullptr, in, out);
}

}  // namespace gc::zoo
