// SGEMM version 1: naive. One thread per element of C; each thread walks the
// k dimension reading op(A)'s row i and op(B)'s column j straight from
// global memory. threadIdx.x runs down a column of C (i), so the 32 threads
// of a warp read 32 different rows of A (addresses lda apart) and write C
// with stride ldc: no access is coalesced, and every A and B element is read
// from global memory (or L2) n or m times. The baseline every later version
// is measured against. Also holds sgemm_scale_c (C = beta·C), shared by all.
#include "kernels/cuda/launch.h"

#include "kernels/cuda/sgemm_common.h"

namespace gc::cuda::GC_CUDA_NS {
namespace {

constexpr int kTile = 32;

template <bool TA, bool TB>
__global__ void __launch_bounds__(kTile * kTile)
    sgemm_v1_kernel(int m, int n, int k, float alpha, const float* __restrict__ a, int lda,
                    const float* __restrict__ b, int ldb, float beta, float* __restrict__ c, int ldc) {
  const int i = blockIdx.x * kTile + threadIdx.x;  // x along rows: the uncoalesced choice
  const int j = blockIdx.y * kTile + threadIdx.y;
  if (i >= m || j >= n) return;
  float acc = 0.0f;
  for (int p = 0; p < k; ++p) acc += load_a<TA>(a, lda, m, k, i, p) * load_b<TB>(b, ldb, k, n, p, j);
  store_c(c, ldc, i, j, alpha, beta, acc);
}

__global__ void sgemm_scale_c_kernel(int n, float beta, float* __restrict__ c, int ldc) {
  const int j = blockIdx.x * blockDim.x + threadIdx.x;
  const int i = blockIdx.y;
  if (j < n) c[static_cast<int64_t>(i) * ldc + j] = beta == 0.0f ? 0.0f : beta * c[static_cast<int64_t>(i) * ldc + j];
}

}  // namespace

void sgemm_scale_c(int m, int n, float beta, float* c, int ldc) {
  GC_LAUNCH(sgemm_scale_c_kernel, dim3((n + kBlock - 1) / kBlock, m), kBlock, 0, nullptr, n, beta, c, ldc);
}

void sgemm_v1_naive(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
                    int ldb, float beta, float* c, int ldc) {
  if (!sgemm_prologue("sgemm_v1_naive", ta, tb, m, n, k, alpha, lda, ldb, beta, c, ldc)) return;
  const dim3 grid((m + kTile - 1) / kTile, (n + kTile - 1) / kTile);
  GC_SGEMM_LAUNCH(sgemm_v1_kernel, ta, tb, grid, dim3(kTile, kTile), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace gc::cuda::GC_CUDA_NS
