// AVX-512 SGEMM micro-kernel: an 8 × 32 tile of C held in 16 zmm accumulators
// (8 rows × 2 vectors of 16 floats). Each step p loads one packed row of B
// (2 vectors) and broadcasts 8 packed values of A, issuing 16 FMAs:
//   acc[i][v] += A(i, p) · B(p, 16v .. 16v+15)
// 16 independent FMA chains cover the FMA latency × throughput product. A
// 12-row tile (24 accumulators) ran no faster on Zen 4 and pads the model's
// m = 32 / 64 rows to 36 / 72 (11% wasted work); 8 divides them.
#include <immintrin.h>

#include "kernels/cpu/sgemm_pack.h"

namespace gc::cpu::sgemm_detail {
namespace {

constexpr int kMR = 8;
constexpr int kVectors = 2;
constexpr int kNR = 16 * kVectors;

void compute(int kc, const float* a, const float* b, float* c, std::ptrdiff_t ldc, float alpha,
             float beta) {
  __m512 acc[kMR][kVectors];
#pragma GCC unroll 8
  for (int i = 0; i < kMR; ++i) {
    for (int v = 0; v < kVectors; ++v) acc[i][v] = _mm512_setzero_ps();
  }
  for (int i = 0; i < kMR; ++i) _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);

#pragma GCC unroll 4
  for (int p = 0; p < kc; ++p) {
    __m512 b0 = _mm512_load_ps(b);
    __m512 b1 = _mm512_load_ps(b + 16);
    _mm_prefetch(reinterpret_cast<const char*>(a + 8 * kMR), _MM_HINT_T0);
#pragma GCC unroll 8
    for (int i = 0; i < kMR; ++i) {
      __m512 ai = _mm512_set1_ps(a[i]);
      acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
    }
    a += kMR;
    b += kNR;
  }

  const __m512 valpha = _mm512_set1_ps(alpha);
  if (beta == 0.0f) {
#pragma GCC unroll 8
    for (int i = 0; i < kMR; ++i) {
      for (int v = 0; v < kVectors; ++v) {
        _mm512_storeu_ps(c + i * ldc + 16 * v, _mm512_mul_ps(valpha, acc[i][v]));
      }
    }
  } else {
    const __m512 vbeta = _mm512_set1_ps(beta);
#pragma GCC unroll 8
    for (int i = 0; i < kMR; ++i) {
      for (int v = 0; v < kVectors; ++v) {
        float* dst = c + i * ldc + 16 * v;
        __m512 old = _mm512_mul_ps(vbeta, _mm512_loadu_ps(dst));
        _mm512_storeu_ps(dst, _mm512_fmadd_ps(valpha, acc[i][v], old));
      }
    }
  }
}

}  // namespace

const MicroKernel& micro_kernel_avx512() {
  // Measured on Zen 4 (32 KiB L1d, 1 MiB L2 per core): a long kc (fewer C
  // updates) beats keeping the kc×32 B panel inside L1; the 192×512 A block
  // (384 KiB) stays in L2; nc·kc·4 B = 8 MiB of B per step sits in L3.
  static const MicroKernel kernel{kMR,     kNR, 192, 512, 4096, compute, pack_a_panel<kMR>,
                                  pack_b_panels<kNR>};
  return kernel;
}

}  // namespace gc::cpu::sgemm_detail
