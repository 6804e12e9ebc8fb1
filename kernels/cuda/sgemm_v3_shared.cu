// SGEMM version 3: shared-memory tiling. A block of 32×32 threads computes
// a 32×32 tile of C, one element per thread, as v2, but walks k in steps of
// 32: the block first copies a 32×32 tile of op(A) and one of op(B) into
// shared memory (each global element read once per block instead of 32
// times), waits at a barrier, multiplies from shared memory, and waits again
// before the next tile overwrites it. Global traffic drops 32-fold.
//
// Transposes only change the load: threadIdx.x always walks the stored
// matrix's contiguous index (coalesced), and the element lands in the tile
// at its op() position. The tiles are 33 wide so that the transposed
// stores (a column of the tile per warp) fall in 32 different banks.
#include "kernels/cuda/launch.h"

#include "kernels/cuda/sgemm_common.h"

namespace gc::cuda::GC_CUDA_NS {
namespace {

constexpr int kTile = 32;

template <bool TA, bool TB>
__global__ void __launch_bounds__(kTile * kTile)
    sgemm_v3_kernel(int m, int n, int k, float alpha, const float* __restrict__ a, int lda,
                    const float* __restrict__ b, int ldb, float beta, float* __restrict__ c, int ldc) {
  __shared__ float a_tile[kTile][kTile + 1];  // a_tile[i][p] = op(A)(i0 + i, k0 + p)
  __shared__ float b_tile[kTile][kTile + 1];  // b_tile[p][j] = op(B)(k0 + p, j0 + j)
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int i0 = blockIdx.y * kTile, j0 = blockIdx.x * kTile;
  float acc = 0.0f;
  for (int k0 = 0; k0 < k; k0 += kTile) {
    if (TA) a_tile[tx][ty] = load_a<TA>(a, lda, m, k, i0 + tx, k0 + ty);  // stored k×m: x walks i
    else a_tile[ty][tx] = load_a<TA>(a, lda, m, k, i0 + ty, k0 + tx);     // stored m×k: x walks p
    if (TB) b_tile[tx][ty] = load_b<TB>(b, ldb, k, n, k0 + tx, j0 + ty);  // stored n×k: x walks p
    else b_tile[ty][tx] = load_b<TB>(b, ldb, k, n, k0 + ty, j0 + tx);     // stored k×n: x walks j
    __syncthreads();
#pragma unroll
    for (int p = 0; p < kTile; ++p) acc += a_tile[ty][p] * b_tile[p][tx];
    __syncthreads();
  }
  if (i0 + ty < m && j0 + tx < n) store_c(c, ldc, i0 + ty, j0 + tx, alpha, beta, acc);
}

}  // namespace

void sgemm_v3_shared(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
                     int ldb, float beta, float* c, int ldc) {
  if (!sgemm_prologue("sgemm_v3_shared", ta, tb, m, n, k, alpha, lda, ldb, beta, c, ldc)) return;
  const dim3 grid((n + kTile - 1) / kTile, (m + kTile - 1) / kTile);
  GC_SGEMM_LAUNCH(sgemm_v3_kernel, ta, tb, grid, dim3(kTile, kTile), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace gc::cuda::GC_CUDA_NS
