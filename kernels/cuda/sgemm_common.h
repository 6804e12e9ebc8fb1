// What every SGEMM version (kernels/cuda/sgemm_v*.cu) shares:
//   C[m×n] = alpha·op(A)[m×k]·op(B)[k×n] + beta·C, row-major, as cpu::sgemm.
// op(A)(i, p) is a[i·lda + p], or a[p·lda + i] when ta (A stored k×m);
// op(B)(p, j) is b[p·ldb + j], or b[j·ldb + p] when tb (B stored n×k).
// Each kernel is a template over <TA, TB>, so the transposes cost nothing in
// the inner loop: they only change which index is contiguous when a tile is
// loaded.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include "kernels/cuda/backend.h"

namespace gc::cuda::GC_CUDA_NS {

// op(A)(i, p) and op(B)(p, j), 0 outside the matrix (edge tiles).
template <bool TA>
__device__ __forceinline__ float load_a(const float* a, int lda, int m, int k, int i, int p) {
  if (i >= m || p >= k) return 0.0f;
  return TA ? a[static_cast<int64_t>(p) * lda + i] : a[static_cast<int64_t>(i) * lda + p];
}
template <bool TB>
__device__ __forceinline__ float load_b(const float* b, int ldb, int k, int n, int p, int j) {
  if (p >= k || j >= n) return 0.0f;
  return TB ? b[static_cast<int64_t>(j) * ldb + p] : b[static_cast<int64_t>(p) * ldb + j];
}

// The epilogue: C is not read when beta == 0 (it may hold NaN), as on the CPU.
__device__ __forceinline__ void store_c(float* c, int ldc, int i, int j, float alpha, float beta, float acc) {
  float* out = c + static_cast<int64_t>(i) * ldc + j;
  *out = beta == 0.0f ? alpha * acc : alpha * acc + beta * *out;
}

// ---- the float4 tile loader of v6 and v7 --------------------------------
// 256 threads copy a 128×8 tile of op(A) and an 8×128 tile of op(B) per k
// step: 1024 floats each, one float4 (four floats contiguous in memory) per
// thread. Thread t reads along the stored matrix's contiguous index:
//   A stored m×k (!TA): row i0 + t/2, columns k0 + 4·(t%2) .. +3
//   A stored k×m (TA):  row k0 + t/32, columns i0 + 4·(t%32) .. +3
//   B stored k×n (!TB): row k0 + t/32, columns j0 + 4·(t%32) .. +3
//   B stored n×k (TB):  row j0 + t/2, columns k0 + 4·(t%2) .. +3
// A 128-bit load (ld.global.v4) needs the four floats inside the matrix and
// 16-byte aligned: `vec` says the base is aligned and the leading dimension
// a multiple of 4 (k0, i0, j0 are multiples of 4). Otherwise, and at the
// edges, the four floats are loaded one by one (0 outside the matrix).
constexpr int kVecTileThreads = 256;

inline bool vec_ok(const void* p, int ld) { return reinterpret_cast<uintptr_t>(p) % 16 == 0 && ld % 4 == 0; }

// The four floats thread t copies of the A tile starting at (i0, k0).
template <bool TA>
__device__ __forceinline__ float4 fetch_a4(const float* a, int lda, int m, int k, int i0, int k0, bool vec) {
  const int t = threadIdx.x;
  // (row, col) in stored coordinates, and the bounds of the stored matrix.
  const int row = TA ? k0 + t / 32 : i0 + t / 2, col = TA ? i0 + 4 * (t % 32) : k0 + 4 * (t % 2);
  const int rows = TA ? k : m, cols = TA ? m : k;
  const float* src = a + static_cast<int64_t>(row) * lda + col;
  if (vec && row < rows && col + 3 < cols) return *reinterpret_cast<const float4*>(src);
  float4 v;
  v.x = row < rows && col < cols ? src[0] : 0.0f;
  v.y = row < rows && col + 1 < cols ? src[1] : 0.0f;
  v.z = row < rows && col + 2 < cols ? src[2] : 0.0f;
  v.w = row < rows && col + 3 < cols ? src[3] : 0.0f;
  return v;
}
template <bool TB>
__device__ __forceinline__ float4 fetch_b4(const float* b, int ldb, int k, int n, int k0, int j0, bool vec) {
  const int t = threadIdx.x;
  const int row = TB ? j0 + t / 2 : k0 + t / 32, col = TB ? k0 + 4 * (t % 2) : j0 + 4 * (t % 32);
  const int rows = TB ? n : k, cols = TB ? k : n;
  const float* src = b + static_cast<int64_t>(row) * ldb + col;
  if (vec && row < rows && col + 3 < cols) return *reinterpret_cast<const float4*>(src);
  float4 v;
  v.x = row < rows && col < cols ? src[0] : 0.0f;
  v.y = row < rows && col + 1 < cols ? src[1] : 0.0f;
  v.z = row < rows && col + 2 < cols ? src[2] : 0.0f;
  v.w = row < rows && col + 3 < cols ? src[3] : 0.0f;
  return v;
}

// Stores what fetch_a4 / fetch_b4 returned into tiles kept as tile[p][i] and
// tile[p][j] (row length `ld`, a multiple of 4): one float4 store when the
// four floats run along i or j, four scalar stores when they run along p.
template <bool TA>
__device__ __forceinline__ void store_a4(float* tile, int ld, float4 v) {
  const int t = threadIdx.x;
  if (TA) {
    *reinterpret_cast<float4*>(tile + (t / 32) * ld + 4 * (t % 32)) = v;
  } else {
    float* dst = tile + 4 * (t % 2) * ld + t / 2;
    dst[0] = v.x;
    dst[ld] = v.y;
    dst[2 * ld] = v.z;
    dst[3 * ld] = v.w;
  }
}
template <bool TB>
__device__ __forceinline__ void store_b4(float* tile, int ld, float4 v) {
  const int t = threadIdx.x;
  if (TB) {
    float* dst = tile + 4 * (t % 2) * ld + t / 2;
    dst[0] = v.x;
    dst[ld] = v.y;
    dst[2 * ld] = v.z;
    dst[3 * ld] = v.w;
  } else {
    *reinterpret_cast<float4*>(tile + (t / 32) * ld + 4 * (t % 32)) = v;
  }
}

// C = beta·C for k == 0 or alpha == 0, when A and B must not be read.
void sgemm_scale_c(int m, int n, float beta, float* c, int ldc);

// Sizes and leading dimensions as cpu::sgemm requires them; returns false
// when there is nothing to multiply (m or n is 0, or C = beta·C was done).
inline bool sgemm_prologue(const char* version, bool ta, bool tb, int m, int n, int k, float alpha, int lda, int ldb,
                           float beta, float* c, int ldc) {
  auto fail = [&](const std::string& why) { throw std::invalid_argument(std::string(version) + ": " + why); };
  if (m < 0 || n < 0 || k < 0)
    fail("negative size m=" + std::to_string(m) + " n=" + std::to_string(n) + " k=" + std::to_string(k));
  const int a_cols = ta ? m : k, b_cols = tb ? k : n;
  if (lda < (a_cols > 1 ? a_cols : 1) || ldb < (b_cols > 1 ? b_cols : 1) || ldc < (n > 1 ? n : 1))
    fail("leading dimension too small: lda=" + std::to_string(lda) + " ldb=" + std::to_string(ldb) +
         " ldc=" + std::to_string(ldc));
  if (m == 0 || n == 0) return false;
  if (k == 0 || alpha == 0.0f) {
    sgemm_scale_c(m, n, beta, c, ldc);
    return false;
  }
  return true;
}

}  // namespace gc::cuda::GC_CUDA_NS

// Launches kernel<TA, TB> for the runtime transposes ta, tb.
#define GC_SGEMM_LAUNCH(kernel, ta, tb, grid, block, ...)                                 \
  do {                                                                                   \
    if (ta && tb) GC_LAUNCH((kernel<true, true>), grid, block, 0, nullptr, __VA_ARGS__);   \
    else if (ta) GC_LAUNCH((kernel<true, false>), grid, block, 0, nullptr, __VA_ARGS__);   \
    else if (tb) GC_LAUNCH((kernel<false, true>), grid, block, 0, nullptr, __VA_ARGS__);   \
    else GC_LAUNCH((kernel<false, false>), grid, block, 0, nullptr, __VA_ARGS__);          \
  } while (0)
