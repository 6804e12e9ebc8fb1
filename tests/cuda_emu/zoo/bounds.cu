// Zoo: an elementwise kernel on a size that is not a multiple of the block.
// scale_off_by_one guards with `i <= n`: one thread reads and writes one
// element past the end (memcheck names the marked line).
#include "kernels/cuda/launch.h"
#include "tests/cuda_emu/zoo/zoo.h"

namespace {

__global__ void scale_guarded_kernel(const float* __restrict__ in, float* __restrict__ out, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = 2.0f * __ldg(&in[i]);
}

__global__ void scale_off_by_one_kernel(const float* __restrict__ in, float* __restrict__ out, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i <= n) out[i] = 2.0f * __ldg(&in[i]);  // zoo:bounds-overflow
}

constexpr int kBlock = 256;
int blocks(int n) { return (n + kBlock) / kBlock; }  // one spare thread at least, as a real launch often has

}  // namespace

namespace gc::zoo {

void scale_guarded(const float* in, float* out, int n) {
  GC_LAUNCH(scale_guarded_kernel, blocks(n), kBlock, 0, nullptr, in, out, n);
}
void scale_off_by_one(const float* in, float* out, int n) {
  GC_LAUNCH(scale_off_by_one_kernel, blocks(n), kBlock, 0, nullptr, in, out, n);
}

}  // namespace gc::zoo
