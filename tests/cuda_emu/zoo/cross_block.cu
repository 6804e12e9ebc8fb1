// Zoo: a sum over many blocks. Each block reduces 256 elements into
// partial[block]. sum_two_launches adds the partials in a second launch (a
// launch boundary orders all blocks); sum_reads_other_blocks lets the last
// block add them in the same launch, with nothing ordering the other blocks'
// writes before its reads (wrong when the blocks run in another order).
#include "kernels/cuda/launch.h"
#include "tests/cuda_emu/zoo/zoo.h"

namespace {

constexpr int kBlock = 256;

__device__ float block_reduce(const float* __restrict__ in, int n) {
  __shared__ float sums[kBlock];
  const int i = blockIdx.x * kBlock + threadIdx.x;
  sums[threadIdx.x] = i < n ? in[i] : 0.0f;
  __syncthreads();
  for (unsigned stride = kBlock / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) sums[threadIdx.x] += sums[threadIdx.x + stride];
    __syncthreads();
  }
  return sums[0];
}

__global__ void __launch_bounds__(kBlock) partial_sums_kernel(const float* __restrict__ in, float* partial, int n) {
  const float sum = block_reduce(in, n);
  if (threadIdx.x == 0) partial[blockIdx.x] = sum;
}

__global__ void __launch_bounds__(kBlock) sum_partials_kernel(const float* partial, float* out, int count) {
  const float sum = block_reduce(partial, count);
  if (threadIdx.x == 0) *out = sum;
}

__global__ void __launch_bounds__(kBlock) sum_reads_other_blocks_kernel(const float* __restrict__ in, float* partial,
                                                                        float* out, int n) {
  const float sum = block_reduce(in, n);
  if (threadIdx.x == 0) partial[blockIdx.x] = sum;
  if (blockIdx.x == gridDim.x - 1 && threadIdx.x == 0) {
    float total = 0.0f;
    for (unsigned b = 0; b < gridDim.x; ++b) total += partial[b];  // the other blocks may not have written yet
    *out = total;
  }
}

int blocks(int n) { return (n + kBlock - 1) / kBlock; }

}  // namespace

namespace gc::zoo {

void sum_two_launches(const float* in, float* partial, float* out, int n) {
  GC_LAUNCH(partial_sums_kernel, blocks(n), kBlock, 0, nullptr, in, partial, n);
  GC_LAUNCH(sum_partials_kernel, 1, kBlock, 0, nullptr, partial, out, blocks(n));  // needs blocks(n) <= 256
}

void sum_reads_other_blocks(const float* in, float* partial, float* out, int n) {
  GC_LAUNCH(sum_reads_other_blocks_kernel, blocks(n), kBlock, 0, nullptr, in, partial, out, n);
}

}  // namespace gc::zoo
