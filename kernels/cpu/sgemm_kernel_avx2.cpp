// AVX2 + FMA SGEMM micro-kernel: a 6 × 16 tile of C held in 12 ymm
// accumulators (6 rows × 2 vectors of 8 floats). Each step p loads one packed
// row of B (2 vectors) and broadcasts 6 packed values of A, issuing 12 FMAs:
//   acc[i][v] += A(i, p) · B(p, 8v .. 8v+7)
// 12 accumulators + 2 B vectors + 1 broadcast fit the 16 ymm registers.
#include <immintrin.h>

#include "kernels/cpu/sgemm_pack.h"

namespace gc::cpu::sgemm_detail {
namespace {

constexpr int kMR = 6;
constexpr int kNR = 16;

void compute(int kc, const float* a, const float* b, float* c, std::ptrdiff_t ldc, float alpha,
             float beta) {
  __m256 acc[kMR][2];
#pragma GCC unroll 6
  for (int i = 0; i < kMR; ++i) {
    acc[i][0] = _mm256_setzero_ps();
    acc[i][1] = _mm256_setzero_ps();
  }
  for (int i = 0; i < kMR; ++i) _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);

#pragma GCC unroll 4
  for (int p = 0; p < kc; ++p) {
    __m256 b0 = _mm256_load_ps(b);
    __m256 b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 6
    for (int i = 0; i < kMR; ++i) {
      __m256 ai = _mm256_broadcast_ss(a + i);
      acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
    }
    a += kMR;
    b += kNR;
  }

  const __m256 valpha = _mm256_set1_ps(alpha);
  if (beta == 0.0f) {
#pragma GCC unroll 6
    for (int i = 0; i < kMR; ++i) {
      for (int v = 0; v < 2; ++v) {
        _mm256_storeu_ps(c + i * ldc + 8 * v, _mm256_mul_ps(valpha, acc[i][v]));
      }
    }
  } else {
    const __m256 vbeta = _mm256_set1_ps(beta);
#pragma GCC unroll 6
    for (int i = 0; i < kMR; ++i) {
      for (int v = 0; v < 2; ++v) {
        float* dst = c + i * ldc + 8 * v;
        __m256 old = _mm256_mul_ps(vbeta, _mm256_loadu_ps(dst));
        _mm256_storeu_ps(dst, _mm256_fmadd_ps(valpha, acc[i][v], old));
      }
    }
  }
}

}  // namespace

const MicroKernel& micro_kernel_avx2() {
  // Measured on Zen 4 with the AVX-512 kernel's reasoning (long kc), with a
  // smaller A block: 96×512×4 B = 192 KiB of L2.
  static const MicroKernel kernel{kMR, kNR, 96, 512, 4096, compute, pack_a_panel<kMR>,
                                  pack_b_panels<kNR>};
  return kernel;
}

}  // namespace gc::cpu::sgemm_detail
