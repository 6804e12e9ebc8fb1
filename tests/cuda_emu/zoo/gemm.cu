// Zoo: tiled SGEMM, c = a * b (row-major), 16 x 16 tiles in shared memory.
// sgemm_missing_sync has no barrier between using a tile and loading the
// next one: fast threads overwrite the tile while slow ones still read it
// (racecheck names the two lines marked below).
#include "kernels/cuda/launch.h"
#include "tests/cuda_emu/zoo/zoo.h"

namespace {

constexpr int kTile = 16;

template <bool kSecondBarrier>
__device__ void sgemm_tile(const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ c, int m,
                           int n, int k) {
  __shared__ float a_tile[kTile][kTile];
  __shared__ float b_tile[kTile][kTile];
  const int row = blockIdx.y * kTile + threadIdx.y;
  const int col = blockIdx.x * kTile + threadIdx.x;
  float sum = 0.0f;
  for (int k0 = 0; k0 < k; k0 += kTile) {
    const int a_col = k0 + threadIdx.x, b_row = k0 + threadIdx.y;
    a_tile[threadIdx.y][threadIdx.x] = row < m && a_col < k ? a[row * k + a_col] : 0.0f;  // zoo:gemm-write
    b_tile[threadIdx.y][threadIdx.x] = b_row < k && col < n ? b[b_row * n + col] : 0.0f;
    __syncthreads();
#pragma unroll
    for (int i = 0; i < kTile; ++i) sum = fmaf(a_tile[threadIdx.y][i], b_tile[i][threadIdx.x], sum);  // zoo:gemm-read
    if (kSecondBarrier) __syncthreads();
  }
  if (row < m && col < n) c[row * n + col] = sum;
}

__global__ void __launch_bounds__(kTile * kTile)
    sgemm_tiled_kernel(const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ c, int m, int n,
                       int k) {
  sgemm_tile<true>(a, b, c, m, n, k);
}

__global__ void __launch_bounds__(kTile * kTile)
    sgemm_missing_sync_kernel(const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ c, int m,
                              int n, int k) {
  sgemm_tile<false>(a, b, c, m, n, k);
}

dim3 tiles(int m, int n) { return dim3((n + kTile - 1) / kTile, (m + kTile - 1) / kTile); }

}  // namespace

namespace gc::zoo {

void sgemm_tiled(const float* a, const float* b, float* c, int m, int n, int k) {
  GC_LAUNCH(sgemm_tiled_kernel, tiles(m, n), dim3(kTile, kTile), 0, nullptr, a, b, c, m, n, k);
}

void sgemm_missing_sync(const float* a, const float* b, float* c, int m, int n, int k) {
  GC_LAUNCH(sgemm_missing_sync_kernel, tiles(m, n), dim3(kTile, kTile), 0, nullptr, a, b, c, m, n, k);
}

}  // namespace gc::zoo
