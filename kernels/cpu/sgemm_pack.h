// Packing routines shared by the micro-kernel files; included (and so compiled
// with each file's SIMD flags) by sgemm_kernel_*.cpp. Layouts: sgemm_kernel.h.
//
// Both operands reduce to two shapes of copy into a panel W wide:
//   pack_copy:   panel[p*W + i] = src[p*ld + i]   (A transposed, B as is)
//   pack_gather: panel[p*W + i] = src[i*ld + p]   (A as is, B transposed)
// with i < rows ≤ W, p < kc, and zeros in lanes rows ≤ i < W.
#pragma once

#if defined(__SSE__)
#include <xmmintrin.h>
#endif

#include <algorithm>

#include "kernels/cpu/sgemm_kernel.h"

namespace gc::cpu::sgemm_detail {
// Internal linkage on purpose: every micro-kernel file compiles its own copy
// with its own ISA flags. As ordinary inline templates, pack_gather<8> of the
// scalar kernel (NR = 8) and of the AVX-512 kernel (MR = 8) were one symbol,
// and the linker's pick ran AVX-512 code on the scalar path (SIGILL on an
// AVX2-only machine).
namespace {

template <int W>
void pack_copy(int rows, int kc, const float* src, std::ptrdiff_t ld, float* panel) {
  for (int p = 0; p < kc; ++p, src += ld, panel += W) {
    if (rows == W) {
      for (int i = 0; i < W; ++i) panel[i] = src[i];  // fixed length: vectorised
    } else {
      for (int i = 0; i < W; ++i) panel[i] = i < rows ? src[i] : 0.0f;
    }
  }
}

template <int W>
void pack_gather(int rows, int kc, const float* src, std::ptrdiff_t ld, float* panel) {
  int i0 = 0;
#if defined(__SSE__)
  // 4 rows × 4 columns at a time: four loads, an in-register 4×4 transpose,
  // four stores (a scalar copy here costs several cycles per element).
  for (; i0 + 4 <= rows; i0 += 4) {
    const float* s = src + i0 * ld;
    int p = 0;
    for (; p + 4 <= kc; p += 4) {
      __m128 r0 = _mm_loadu_ps(s + p), r1 = _mm_loadu_ps(s + ld + p);
      __m128 r2 = _mm_loadu_ps(s + 2 * ld + p), r3 = _mm_loadu_ps(s + 3 * ld + p);
      _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
      _mm_storeu_ps(panel + (p + 0) * W + i0, r0);
      _mm_storeu_ps(panel + (p + 1) * W + i0, r1);
      _mm_storeu_ps(panel + (p + 2) * W + i0, r2);
      _mm_storeu_ps(panel + (p + 3) * W + i0, r3);
    }
    for (; p < kc; ++p) {
      for (int i = 0; i < 4; ++i) panel[p * W + i0 + i] = s[i * ld + p];
    }
  }
#endif
  for (int i = i0; i < rows; ++i) {
    const float* s = src + i * ld;
    for (int p = 0; p < kc; ++p) panel[p * W + i] = s[p];
  }
  for (int p = 0; p < kc; ++p) {
    for (int i = rows; i < W; ++i) panel[p * W + i] = 0.0f;
  }
}

template <int MR>
void pack_a_panel(int rows, int kc, StridedMatrix a, float* panel) {
  if (a.col_stride == 1) {
    pack_gather<MR>(rows, kc, a.data, a.row_stride, panel);
  } else {
    pack_copy<MR>(rows, kc, a.data, a.col_stride, panel);
  }
}

// Packs columns [0, cols) of `b` (any number) into consecutive NR-wide panels.
template <int NR>
void pack_b_panels(int kc, int cols, StridedMatrix b, float* panels) {
  if (b.col_stride == 1) {
    // Row by row across all panels, so B is read in long contiguous runs
    // (panel by panel would touch kc rows, often kc pages, per 128 bytes).
    const int full = cols / NR, rest = cols % NR;
    for (int p = 0; p < kc; ++p) {
      const float* src = b.data + p * b.row_stride;
      float* dst = panels + p * NR;
      for (int jp = 0; jp < full; ++jp, src += NR, dst += std::ptrdiff_t(NR) * kc) {
        for (int j = 0; j < NR; ++j) dst[j] = src[j];
      }
      for (int j = 0; j < NR && rest > 0; ++j) dst[j] = j < rest ? src[j] : 0.0f;
    }
  } else {
    for (int j0 = 0; j0 < cols; j0 += NR) {
      pack_gather<NR>(std::min(NR, cols - j0), kc, b.data + j0 * b.col_stride, b.col_stride,
                      panels + std::ptrdiff_t(j0) * kc);
    }
  }
}

}  // namespace
}  // namespace gc::cpu::sgemm_detail
