// Zoo: tiled transpose. transpose_missing_sync reads the tile transposed
// without waiting for the other threads to write it (racecheck names the
// two lines marked below).
#include "kernels/cuda/launch.h"
#include "tests/cuda_emu/zoo/zoo.h"

namespace {

constexpr int kTile = 16;

template <bool kBarrier>
__device__ void transpose_tile(const float* __restrict__ in, float* __restrict__ out, int rows, int cols) {
  __shared__ float tile[kTile][kTile + 1];  // +1: no bank conflicts on the transposed read
  int col = blockIdx.x * kTile + threadIdx.x;
  int row = blockIdx.y * kTile + threadIdx.y;
  if (row < rows && col < cols) tile[threadIdx.y][threadIdx.x] = in[row * cols + col];  // zoo:transpose-write
  if (kBarrier) __syncthreads();
  col = blockIdx.y * kTile + threadIdx.x;  // now indexes out's columns (in's rows)
  row = blockIdx.x * kTile + threadIdx.y;
  if (row < cols && col < rows) out[row * rows + col] = tile[threadIdx.x][threadIdx.y];  // zoo:transpose-read
}

__global__ void transpose_tiled_kernel(const float* __restrict__ in, float* __restrict__ out, int rows, int cols) {
  transpose_tile<true>(in, out, rows, cols);
}

__global__ void transpose_missing_sync_kernel(const float* __restrict__ in, float* __restrict__ out, int rows,
                                              int cols) {
  transpose_tile<false>(in, out, rows, cols);
}

dim3 tiles(int rows, int cols) { return dim3((cols + kTile - 1) / kTile, (rows + kTile - 1) / kTile); }

}  // namespace

namespace gc::zoo {

void transpose_tiled(const float* in, float* out, int rows, int cols) {
  GC_LAUNCH(transpose_tiled_kernel, tiles(rows, cols), dim3(kTile, kTile), 0, nullptr, in, out, rows, cols);
}

void transpose_missing_sync(const float* in, float* out, int rows, int cols) {
  GC_LAUNCH(transpose_missing_sync_kernel, tiles(rows, cols), dim3(kTile, kTile), 0, nullptr, in, out, rows, cols);
}

}  // namespace gc::zoo
