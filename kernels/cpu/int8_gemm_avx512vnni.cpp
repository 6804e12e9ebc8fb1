// AVX-512 VNNI int8 micro-kernel: a 12 × 16 tile of C in 12 zmm accumulators
// (one 16-lane vector per row: a whole packed panel). Each quad q loads the
// panel's 64 weight bytes once and, for each row, broadcasts A[i][4q..4q+3]:
//   vpdpbusd acc, x, w: acc[lane] += Σ_r x.u8[4·lane + r] · w.s8[4·lane + r]
// summed in 32 bits (exact, no saturation). 12 independent chains cover
// vpdpbusd's latency.
#include <immintrin.h>

#include "kernels/cpu/int8_gemm_kernel.h"

namespace gc::cpu::int8_detail {
namespace {

constexpr int kMR = 12;

void compute(int k_quads, const uint8_t* a, std::ptrdiff_t lda, const int8_t* panel, int32_t* c,
             std::ptrdiff_t ldc) {
  __m512i acc[kMR];
  for (int i = 0; i < kMR; ++i) acc[i] = _mm512_setzero_si512();
  for (int q = 0; q < k_quads; ++q) {
    const __m512i b = _mm512_loadu_si512(panel);
#pragma GCC unroll 12
    for (int i = 0; i < kMR; ++i) {
      int32_t quad;
      __builtin_memcpy(&quad, a + i * lda + 4 * q, 4);
      acc[i] = _mm512_dpbusd_epi32(acc[i], _mm512_set1_epi32(quad), b);
    }
    panel += kPanelQuadBytes;
  }
  for (int i = 0; i < kMR; ++i) _mm512_storeu_si512(c + i * ldc, acc[i]);
}

}  // namespace

const MicroKernel& micro_kernel_avx512_vnni() {
  static const MicroKernel kernel{kMR, compute, compute};
  return kernel;
}

}  // namespace gc::cpu::int8_detail
