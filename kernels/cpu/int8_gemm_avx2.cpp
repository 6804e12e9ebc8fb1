// AVX2 int8 micro-kernel: a 4 × 16 tile of C in 8 ymm accumulators (4 rows ×
// 2 vectors of 8 int32). Each quad q broadcasts the 4 activation bytes
// A[i][4q..4q+3] to every lane and meets 2 packed weight vectors:
//   vpmaddubsw: u8·s8 products, adjacent pairs added into s16 (saturating)
//   vpmaddwd with 1s: adjacent s16 pairs added into s32 → the 4-term dot
//   vpaddd into the accumulator
// The split pass (int8_gemm.h) feeds a & 127 and a >> 7 through vpmaddubsw
// separately and weights the second by 128 in vpmaddwd, so no s16 saturates.
#include <immintrin.h>

#include "kernels/cpu/int8_gemm_kernel.h"

namespace gc::cpu::int8_detail {
namespace {

constexpr int kMR = 4;

inline __m256i broadcast_quad(const uint8_t* p) {
  int32_t quad;
  __builtin_memcpy(&quad, p, 4);
  return _mm256_set1_epi32(quad);
}

template <bool kSplit>
void compute(int k_quads, const uint8_t* a, std::ptrdiff_t lda, const int8_t* panel, int32_t* c,
             std::ptrdiff_t ldc) {
  __m256i acc[kMR][2];
  for (int i = 0; i < kMR; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_si256();
  const __m256i ones = _mm256_set1_epi16(1);
  const __m256i by128 = _mm256_set1_epi16(128);
  const __m256i low7 = _mm256_set1_epi8(0x7f);
  const __m256i bit0 = _mm256_set1_epi8(0x01);

  for (int q = 0; q < k_quads; ++q) {
    const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(panel));
    const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(panel + 32));
#pragma GCC unroll 4
    for (int i = 0; i < kMR; ++i) {
      const __m256i x = broadcast_quad(a + i * lda + 4 * q);
      if constexpr (kSplit) {
        const __m256i lo = _mm256_and_si256(x, low7);
        const __m256i hi = _mm256_and_si256(_mm256_srli_epi32(x, 7), bit0);
        for (int v = 0; v < 2; ++v) {
          const __m256i b = v == 0 ? b0 : b1;
          const __m256i part_lo = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, b), ones);
          const __m256i part_hi = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, b), by128);
          acc[i][v] = _mm256_add_epi32(acc[i][v], _mm256_add_epi32(part_lo, part_hi));
        }
      } else {
        acc[i][0] = _mm256_add_epi32(acc[i][0], _mm256_madd_epi16(_mm256_maddubs_epi16(x, b0), ones));
        acc[i][1] = _mm256_add_epi32(acc[i][1], _mm256_madd_epi16(_mm256_maddubs_epi16(x, b1), ones));
      }
    }
    panel += kPanelQuadBytes;
  }
  for (int i = 0; i < kMR; ++i) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(c + i * ldc), acc[i][0]);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(c + i * ldc + 8), acc[i][1]);
  }
}

}  // namespace

const MicroKernel& micro_kernel_avx2() {
  static const MicroKernel kernel{kMR, compute<true>, compute<false>};
  return kernel;
}

}  // namespace gc::cpu::int8_detail
