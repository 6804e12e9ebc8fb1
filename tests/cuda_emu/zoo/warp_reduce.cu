// Zoo: per-warp sums by shuffles. warp_sum_wrong_offset starts the tree at
// offset 8, so lane 0 never sees lanes 16..31 (a wrong result in every
// schedule); warp_sum_wrong_mask names only lanes 0..15 although all 32
// call (the emulator stops it with an error naming the call and the lane).
#include "kernels/cuda/launch.h"
#include "tests/cuda_emu/zoo/zoo.h"

namespace {

template <unsigned kMask, int kFirstOffset>
__device__ void warp_sum_body(const float* __restrict__ in, float* __restrict__ out, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  float value = i < n ? in[i] : 0.0f;
#pragma unroll
  for (int offset = kFirstOffset; offset > 0; offset /= 2) value += __shfl_down_sync(kMask, value, offset);
  if (threadIdx.x % warpSize == 0 && i < n) out[i / warpSize] = value;
}

__global__ void warp_sum_kernel(const float* __restrict__ in, float* __restrict__ out, int n) {
  warp_sum_body<0xffffffffu, 16>(in, out, n);
}
__global__ void warp_sum_wrong_offset_kernel(const float* __restrict__ in, float* __restrict__ out, int n) {
  warp_sum_body<0xffffffffu, 8>(in, out, n);
}
__global__ void warp_sum_wrong_mask_kernel(const float* __restrict__ in, float* __restrict__ out, int n) {
  warp_sum_body<0x0000ffffu, 16>(in, out, n);
}

constexpr int kBlock = 128;
int blocks(int n) { return (n + kBlock - 1) / kBlock; }

}  // namespace

namespace gc::zoo {

void warp_sum(const float* in, float* out, int n) {
  GC_LAUNCH(warp_sum_kernel, blocks(n), kBlock, 0, nullptr, in, out, n);
}
void warp_sum_wrong_offset(const float* in, float* out, int n) {
  GC_LAUNCH(warp_sum_wrong_offset_kernel, blocks(n), kBlock, 0, nullptr, in, out, n);
}
void warp_sum_wrong_mask(const float* in, float* out, int n) {
  GC_LAUNCH(warp_sum_wrong_mask_kernel, blocks(n), kBlock, 0, nullptr, in, out, n);
}

}  // namespace gc::zoo
