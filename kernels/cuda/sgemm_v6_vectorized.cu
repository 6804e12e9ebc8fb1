// SGEMM version 6: 128-bit loads. The tiling and arithmetic are v5's (256
// threads, 128×128 block tile, 8×8 per thread, k steps of 8); what changes
// is the width of every load:
//   - global → shared: each thread fetches its share of a tile as one float4
//     (ld.global.v4) instead of four scalar loads: a quarter of the load
//     instructions, and the A tile is transposed on the way in (a_tile[p][i]);
//   - shared → registers: a thread's 8 values of a_tile[p][·] and of
//     b_tile[p][·] are consecutive, so they come as two ld.shared.v4 each
//     instead of eight scalar loads: 4 shared load instructions per 64 FMAs.
// Edges and unaligned operands fall back to scalar loads inside the same
// kernel (sgemm_common.h's fetch_a4 / fetch_b4).
#include "kernels/cuda/launch.h"

#include "kernels/cuda/sgemm_common.h"

namespace gc::cuda::GC_CUDA_NS {
namespace {

constexpr int kBM = 128, kBN = 128, kBK = 8, kTM = 8, kTN = 8;
constexpr int kThreads = kVecTileThreads;  // 256 = (kBM / kTM) · (kBN / kTN)

template <bool TA, bool TB>
__global__ void __launch_bounds__(kThreads)
    sgemm_v6_kernel(int m, int n, int k, float alpha, const float* __restrict__ a, int lda, bool a_vec,
                    const float* __restrict__ b, int ldb, bool b_vec, float beta, float* __restrict__ c, int ldc) {
  __shared__ __align__(16) float a_tile[kBK][kBM];  // a_tile[p][i] = op(A)(i0 + i, k0 + p)
  __shared__ __align__(16) float b_tile[kBK][kBN];  // b_tile[p][j] = op(B)(k0 + p, j0 + j)
  const int t = threadIdx.x;
  const int i0 = blockIdx.y * kBM, j0 = blockIdx.x * kBN;
  const int row0 = (t / (kBN / kTN)) * kTM, col0 = (t % (kBN / kTN)) * kTN;

  float acc[kTM][kTN] = {};
  for (int k0 = 0; k0 < k; k0 += kBK) {
    store_a4<TA>(&a_tile[0][0], kBM, fetch_a4<TA>(a, lda, m, k, i0, k0, a_vec));
    store_b4<TB>(&b_tile[0][0], kBN, fetch_b4<TB>(b, ldb, k, n, k0, j0, b_vec));
    __syncthreads();
#pragma unroll
    for (int p = 0; p < kBK; ++p) {
      const float4 a_lo = *reinterpret_cast<const float4*>(&a_tile[p][row0]);
      const float4 a_hi = *reinterpret_cast<const float4*>(&a_tile[p][row0 + 4]);
      const float4 b_lo = *reinterpret_cast<const float4*>(&b_tile[p][col0]);
      const float4 b_hi = *reinterpret_cast<const float4*>(&b_tile[p][col0 + 4]);
      const float a_reg[kTM] = {a_lo.x, a_lo.y, a_lo.z, a_lo.w, a_hi.x, a_hi.y, a_hi.z, a_hi.w};
      const float b_reg[kTN] = {b_lo.x, b_lo.y, b_lo.z, b_lo.w, b_hi.x, b_hi.y, b_hi.z, b_hi.w};
#pragma unroll
      for (int r = 0; r < kTM; ++r)
#pragma unroll
        for (int q = 0; q < kTN; ++q) acc[r][q] += a_reg[r] * b_reg[q];
    }
    __syncthreads();
  }
#pragma unroll
  for (int r = 0; r < kTM; ++r)
#pragma unroll
    for (int q = 0; q < kTN; ++q)
      if (i0 + row0 + r < m && j0 + col0 + q < n)
        store_c(c, ldc, i0 + row0 + r, j0 + col0 + q, alpha, beta, acc[r][q]);
}

}  // namespace

void sgemm_v6_vectorized(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda,
                         const float* b, int ldb, float beta, float* c, int ldc) {
  if (!sgemm_prologue("sgemm_v6_vectorized", ta, tb, m, n, k, alpha, lda, ldb, beta, c, ldc)) return;
  const dim3 grid((n + kBN - 1) / kBN, (m + kBM - 1) / kBM);
  GC_SGEMM_LAUNCH(sgemm_v6_kernel, ta, tb, grid, kThreads, m, n, k, alpha, a, lda, vec_ok(a, lda), b, ldb,
                  vec_ok(b, ldb), beta, c, ldc);
}

}  // namespace gc::cuda::GC_CUDA_NS
