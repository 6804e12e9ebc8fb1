// SGEMM version 2: coalesced. The same one-thread-per-element loop as v1,
// but threadIdx.x now runs along a row of C (j): the 32 threads of a warp
// read 32 consecutive elements of op(B)'s row p (one 128-byte transaction
// when B is not transposed), all read the same op(A)(i, p) (a broadcast), and
// write 32 consecutive elements of C. Changing only the thread-to-element
// map turns strided traffic into full cache lines.
#include "kernels/cuda/launch.h"

#include "kernels/cuda/sgemm_common.h"

namespace gc::cuda::GC_CUDA_NS {
namespace {

constexpr int kTile = 32;

template <bool TA, bool TB>
__global__ void __launch_bounds__(kTile * kTile)
    sgemm_v2_kernel(int m, int n, int k, float alpha, const float* __restrict__ a, int lda,
                    const float* __restrict__ b, int ldb, float beta, float* __restrict__ c, int ldc) {
  const int j = blockIdx.x * kTile + threadIdx.x;  // x along columns: consecutive threads, consecutive addresses
  const int i = blockIdx.y * kTile + threadIdx.y;
  if (i >= m || j >= n) return;
  float acc = 0.0f;
  for (int p = 0; p < k; ++p) acc += load_a<TA>(a, lda, m, k, i, p) * load_b<TB>(b, ldb, k, n, p, j);
  store_c(c, ldc, i, j, alpha, beta, acc);
}

}  // namespace

void sgemm_v2_coalesced(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
                        int ldb, float beta, float* c, int ldc) {
  if (!sgemm_prologue("sgemm_v2_coalesced", ta, tb, m, n, k, alpha, lda, ldb, beta, c, ldc)) return;
  const dim3 grid((n + kTile - 1) / kTile, (m + kTile - 1) / kTile);
  GC_SGEMM_LAUNCH(sgemm_v2_kernel, ta, tb, grid, dim3(kTile, kTile), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace gc::cuda::GC_CUDA_NS
