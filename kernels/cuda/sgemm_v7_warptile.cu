// SGEMM version 7: warp tiling and double buffering (the version the table
// uses). Same 128×128×8 block tile, 256 threads and float4 loads as v6, and
// still 64 accumulators per thread, but:
//   - Warp tiling. The 8 warps split the block tile 2 (down) × 4 (across)
//     into 64×32 warp tiles; within one, the 32 lanes form an 8×4 grid and
//     each lane owns 2×2 sub-tiles of 4×4 (rows lane_row·4 + {0, 32},
//     columns lane_col·4 + {0, 16}). At one k step a warp's float4 reads
//     of the A tile cover 8 consecutive float4s (128 bytes) and of the B
//     tile 4 (64 bytes), each read by several lanes (a broadcast): no bank
//     conflicts, where v6's 8×8-per-thread layout has lanes 32 bytes apart
//     in the B tile (two-way conflicts). Each warp also reads only its own
//     64 rows and 32 columns of the tiles.
//   - Double buffering. Two copies of each tile: while the block multiplies
//     out of one, each thread's global loads for the next k step are
//     already in flight (into registers), and are stored into the other
//     copy afterwards. One barrier per k step instead of two.
//   - Padding. Tile rows are 132 floats, not 128: the transposed scalar
//     stores of the loader (rows 4 apart) then hit 32 different banks, and
//     rows stay 16-byte aligned for the float4 reads.
//   - C is written as float4 where four columns are inside C and aligned.
#include "kernels/cuda/launch.h"

#include "kernels/cuda/sgemm_common.h"

namespace gc::cuda::GC_CUDA_NS {
namespace {

constexpr int kBM = 128, kBN = 128, kBK = 8, kPad = 4;
constexpr int kLd = kBM + kPad;                // tile row length (kBM == kBN)
constexpr int kThreads = kVecTileThreads;      // 256: 8 warps
constexpr int kWarpM = 64, kWarpN = 32;        // warp tile; 2 × 4 warps
constexpr int kLaneRows = 8, kLaneCols = 4;    // lanes of a warp, as a grid
constexpr int kSubM = kLaneRows * 4;           // 32: rows one pass of the lane grid covers
constexpr int kSubN = kLaneCols * 4;           // 16
constexpr int kIterM = kWarpM / kSubM, kIterN = kWarpN / kSubN;  // 2 × 2 sub-tiles of 4×4 per lane

// The epilogue for one 4-wide row segment of C starting at (i, j).
__device__ __forceinline__ void store_c4(float* c, int ldc, int m, int n, int i, int j, float alpha, float beta,
                                         const float (&acc)[4], bool c_vec) {
  if (i >= m) return;
  float* out = c + static_cast<int64_t>(i) * ldc + j;
  if (c_vec && j + 3 < n) {
    float4 v = make_float4(alpha * acc[0], alpha * acc[1], alpha * acc[2], alpha * acc[3]);
    if (beta != 0.0f) {
      const float4 old = *reinterpret_cast<const float4*>(out);
      v.x += beta * old.x;
      v.y += beta * old.y;
      v.z += beta * old.z;
      v.w += beta * old.w;
    }
    *reinterpret_cast<float4*>(out) = v;
    return;
  }
  for (int q = 0; q < 4; ++q)
    if (j + q < n) store_c(c, ldc, i, j + q, alpha, beta, acc[q]);
}

template <bool TA, bool TB>
__global__ void __launch_bounds__(kThreads)
    sgemm_v7_kernel(int m, int n, int k, float alpha, const float* __restrict__ a, int lda, bool a_vec,
                    const float* __restrict__ b, int ldb, bool b_vec, float beta, float* __restrict__ c, int ldc,
                    bool c_vec) {
  __shared__ __align__(16) float a_tile[2][kBK][kLd];  // a_tile[buf][p][i] = op(A)(i0 + i, k0 + p)
  __shared__ __align__(16) float b_tile[2][kBK][kLd];  // b_tile[buf][p][j] = op(B)(k0 + p, j0 + j)
  const int i0 = blockIdx.y * kBM, j0 = blockIdx.x * kBN;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int warp_row = (warp / (kBN / kWarpN)) * kWarpM, warp_col = (warp % (kBN / kWarpN)) * kWarpN;
  const int lane_row = (lane / kLaneCols) * 4, lane_col = (lane % kLaneCols) * 4;

  float acc[kIterM][kIterN][4][4] = {};
  store_a4<TA>(&a_tile[0][0][0], kLd, fetch_a4<TA>(a, lda, m, k, i0, 0, a_vec));
  store_b4<TB>(&b_tile[0][0][0], kLd, fetch_b4<TB>(b, ldb, k, n, 0, j0, b_vec));
  __syncthreads();
  int buf = 0;
  for (int k0 = 0; k0 < k; k0 += kBK) {
    const bool more = k0 + kBK < k;
    float4 a_next = {}, b_next = {};
    if (more) {  // issued now, consumed after the FMAs below
      a_next = fetch_a4<TA>(a, lda, m, k, i0, k0 + kBK, a_vec);
      b_next = fetch_b4<TB>(b, ldb, k, n, k0 + kBK, j0, b_vec);
    }
#pragma unroll
    for (int p = 0; p < kBK; ++p) {
      float a_reg[kIterM][4], b_reg[kIterN][4];
#pragma unroll
      for (int im = 0; im < kIterM; ++im) {
        const float4 v = *reinterpret_cast<const float4*>(&a_tile[buf][p][warp_row + im * kSubM + lane_row]);
        a_reg[im][0] = v.x, a_reg[im][1] = v.y, a_reg[im][2] = v.z, a_reg[im][3] = v.w;
      }
#pragma unroll
      for (int in = 0; in < kIterN; ++in) {
        const float4 v = *reinterpret_cast<const float4*>(&b_tile[buf][p][warp_col + in * kSubN + lane_col]);
        b_reg[in][0] = v.x, b_reg[in][1] = v.y, b_reg[in][2] = v.z, b_reg[in][3] = v.w;
      }
#pragma unroll
      for (int im = 0; im < kIterM; ++im)
#pragma unroll
        for (int in = 0; in < kIterN; ++in)
#pragma unroll
          for (int r = 0; r < 4; ++r)
#pragma unroll
            for (int q = 0; q < 4; ++q) acc[im][in][r][q] += a_reg[im][r] * b_reg[in][q];
    }
    if (more) {
      // The other copy was last read before the previous barrier: free to overwrite.
      store_a4<TA>(&a_tile[buf ^ 1][0][0], kLd, a_next);
      store_b4<TB>(&b_tile[buf ^ 1][0][0], kLd, b_next);
    }
    __syncthreads();
    buf ^= 1;
  }
#pragma unroll
  for (int im = 0; im < kIterM; ++im)
#pragma unroll
    for (int in = 0; in < kIterN; ++in)
#pragma unroll
      for (int r = 0; r < 4; ++r)
        store_c4(c, ldc, m, n, i0 + warp_row + im * kSubM + lane_row + r, j0 + warp_col + in * kSubN + lane_col,
                 alpha, beta, acc[im][in][r], c_vec);
}

}  // namespace

void sgemm_v7_warptile(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
                       int ldb, float beta, float* c, int ldc) {
  if (!sgemm_prologue("sgemm_v7_warptile", ta, tb, m, n, k, alpha, lda, ldb, beta, c, ldc)) return;
  const dim3 grid((n + kBN - 1) / kBN, (m + kBM - 1) / kBM);
  GC_SGEMM_LAUNCH(sgemm_v7_kernel, ta, tb, grid, kThreads, m, n, k, alpha, a, lda, vec_ok(a, lda), b, ldb,
                  vec_ok(b, ldb), beta, c, ldc, vec_ok(c, ldc));
}

}  // namespace gc::cuda::GC_CUDA_NS
