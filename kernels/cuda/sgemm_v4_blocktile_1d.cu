// SGEMM version 4: 1-D register blocking. v3 does two shared-memory loads
// per FMA, so shared memory, not arithmetic, bounds it. Here a block of 512
// threads computes a 64×64 tile of C with k steps of 8, and each thread
// computes 8 elements of one column: per k step it loads op(B)(p, j) once
// into a register and reuses it for 8 FMAs with 8 values of op(A)'s tile
// (a broadcast: every thread of a warp reads the same ones). That is 9
// shared loads per 8 FMAs instead of 16, and 8 accumulators per thread.
//
// The A tile is kept transposed (a_tile[p][i]) so a thread's 8 values are
// consecutive. Loads: each thread copies one element of each tile; thread t
// walks the stored matrix's contiguous index, so loads coalesce for every
// transpose combination.
#include "kernels/cuda/launch.h"

#include "kernels/cuda/sgemm_common.h"

namespace gc::cuda::GC_CUDA_NS {
namespace {

constexpr int kBM = 64, kBN = 64, kBK = 8, kTM = 8;
constexpr int kThreads = kBM * kBN / kTM;  // 512; also kBM·kBK = kBK·kBN, one element of each tile per thread

template <bool TA, bool TB>
__global__ void __launch_bounds__(kThreads)
    sgemm_v4_kernel(int m, int n, int k, float alpha, const float* __restrict__ a, int lda,
                    const float* __restrict__ b, int ldb, float beta, float* __restrict__ c, int ldc) {
  __shared__ float a_tile[kBK][kBM];  // a_tile[p][i] = op(A)(i0 + i, k0 + p)
  __shared__ float b_tile[kBK][kBN];  // b_tile[p][j] = op(B)(k0 + p, j0 + j)
  const int t = threadIdx.x;
  const int i0 = blockIdx.y * kBM, j0 = blockIdx.x * kBN;
  const int col = t % kBN, row0 = (t / kBN) * kTM;  // this thread's C elements: rows row0..row0+7 of column col
  // Which tile element thread t copies: along the stored matrix's contiguous index.
  const int a_i = TA ? t % kBM : t / kBK, a_p = TA ? t / kBM : t % kBK;
  const int b_p = TB ? t % kBK : t / kBN, b_j = TB ? t / kBK : t % kBN;

  float acc[kTM] = {};
  for (int k0 = 0; k0 < k; k0 += kBK) {
    a_tile[a_p][a_i] = load_a<TA>(a, lda, m, k, i0 + a_i, k0 + a_p);
    b_tile[b_p][b_j] = load_b<TB>(b, ldb, k, n, k0 + b_p, j0 + b_j);
    __syncthreads();
#pragma unroll
    for (int p = 0; p < kBK; ++p) {
      const float bv = b_tile[p][col];
#pragma unroll
      for (int r = 0; r < kTM; ++r) acc[r] += a_tile[p][row0 + r] * bv;
    }
    __syncthreads();
  }
#pragma unroll
  for (int r = 0; r < kTM; ++r)
    if (i0 + row0 + r < m && j0 + col < n) store_c(c, ldc, i0 + row0 + r, j0 + col, alpha, beta, acc[r]);
}

}  // namespace

void sgemm_v4_blocktile_1d(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda,
                           const float* b, int ldb, float beta, float* c, int ldc) {
  if (!sgemm_prologue("sgemm_v4_blocktile_1d", ta, tb, m, n, k, alpha, lda, ldb, beta, c, ldc)) return;
  const dim3 grid((n + kBN - 1) / kBN, (m + kBM - 1) / kBM);
  GC_SGEMM_LAUNCH(sgemm_v4_kernel, ta, tb, grid, kThreads, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace gc::cuda::GC_CUDA_NS
