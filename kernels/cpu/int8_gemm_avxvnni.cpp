// AVX-VNNI int8 micro-kernel (256-bit, VEX encoded): a 6 × 16 tile of C in
// 12 ymm accumulators (6 rows × 2 vectors of 8 int32). Each quad q
// broadcasts A[i][4q..4q+3] and issues
//   vpdpbusd acc, x, w: acc[lane] += Σ_r x.u8[4·lane + r] · w.s8[4·lane + r]
// which sums in 32 bits: exact for any weights, no saturation.
// 12 accumulators + 2 weight vectors + 1 broadcast fit the 16 ymm registers.
#include <immintrin.h>

#include "kernels/cpu/int8_gemm_kernel.h"

namespace gc::cpu::int8_detail {
namespace {

constexpr int kMR = 6;

void compute(int k_quads, const uint8_t* a, std::ptrdiff_t lda, const int8_t* panel, int32_t* c,
             std::ptrdiff_t ldc) {
  __m256i acc[kMR][2];
  for (int i = 0; i < kMR; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_si256();
  for (int q = 0; q < k_quads; ++q) {
    const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(panel));
    const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(panel + 32));
#pragma GCC unroll 6
    for (int i = 0; i < kMR; ++i) {
      int32_t quad;
      __builtin_memcpy(&quad, a + i * lda + 4 * q, 4);
      const __m256i x = _mm256_set1_epi32(quad);
      acc[i][0] = _mm256_dpbusd_avx_epi32(acc[i][0], x, b0);
      acc[i][1] = _mm256_dpbusd_avx_epi32(acc[i][1], x, b1);
    }
    panel += kPanelQuadBytes;
  }
  for (int i = 0; i < kMR; ++i) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(c + i * ldc), acc[i][0]);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(c + i * ldc + 8), acc[i][1]);
  }
}

}  // namespace

const MicroKernel& micro_kernel_avx_vnni() {
  static const MicroKernel kernel{kMR, compute, compute};
  return kernel;
}

}  // namespace gc::cpu::int8_detail
