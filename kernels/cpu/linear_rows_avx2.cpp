// packed_linear_forward for float with AVX2 + FMA (built with -mavx2 -mfma;
// called only where cpu_supports(avx2)). No shared templates or standard
// containers are instantiated here with external linkage (the templates
// below have internal linkage), so no AVX2 code can be picked by the linker
// for a portable caller.
//
// Register tile: R ≤ 4 rows × 16 outputs, two 8-lane sums per row (eight
// chains at R = 4, enough to cover the FMA latency); per step of i, R
// broadcasts of x and two loads of the packed weight row.
#include <immintrin.h>

#include <cstddef>

#include "kernels/cpu/linear_rows.h"

namespace gc::cpu::linear_rows_detail {
namespace {

using idx = std::ptrdiff_t;

template <int R>
void tile(const PackedLinear& p, const float* x, float* y, int o0, bool relu) {
  __m256 total_lo[R], total_hi[R];
  for (int r = 0; r < R; ++r) {
    total_lo[r] = _mm256_loadu_ps(p.bias.data() + o0);
    total_hi[r] = _mm256_loadu_ps(p.bias.data() + o0 + 8);
  }
  for (int i0 = 0; i0 < p.in; i0 += kLinearSumBlock) {
    const int i1 = p.in - i0 < kLinearSumBlock ? p.in : i0 + kLinearSumBlock;
    __m256 lo[R], hi[R];
    for (int r = 0; r < R; ++r) lo[r] = hi[r] = _mm256_setzero_ps();
    const float* w = p.wt.data() + idx(i0) * p.out_padded + o0;
    for (int i = i0; i < i1; ++i, w += p.out_padded) {
      const __m256 w_lo = _mm256_loadu_ps(w), w_hi = _mm256_loadu_ps(w + 8);
      for (int r = 0; r < R; ++r) {
        const __m256 xi = _mm256_broadcast_ss(x + idx(r) * p.in + i);
        lo[r] = _mm256_fmadd_ps(xi, w_lo, lo[r]);
        hi[r] = _mm256_fmadd_ps(xi, w_hi, hi[r]);
      }
    }
    for (int r = 0; r < R; ++r) {
      total_lo[r] = _mm256_add_ps(lo[r], total_lo[r]);
      total_hi[r] = _mm256_add_ps(hi[r], total_hi[r]);
    }
  }
  const __m256 zero = _mm256_setzero_ps();
  const int valid = p.out - o0 < 16 ? p.out - o0 : 16;
  for (int r = 0; r < R; ++r) {
    __m256 a = total_lo[r], b = total_hi[r];
    if (relu) {  // max(0, NaN) is NaN: the second operand wins
      a = _mm256_max_ps(zero, a);
      b = _mm256_max_ps(zero, b);
    }
    float* yr = y + idx(r) * p.out + o0;
    if (valid == 16) {
      _mm256_storeu_ps(yr, a);
      _mm256_storeu_ps(yr + 8, b);
    } else {
      alignas(32) float last[16];
      _mm256_store_ps(last, a);
      _mm256_store_ps(last + 8, b);
      for (int o = 0; o < valid; ++o) yr[o] = last[o];
    }
  }
}

template <int R>
void rows_block(const PackedLinear& p, const float* x, float* y, bool relu) {
  for (int o0 = 0; o0 < p.out; o0 += 16) tile<R>(p, x, y, o0, relu);
}

}  // namespace

void forward_avx2(const PackedLinear& p, int64_t rows, const float* x, float* y, bool relu) {
  int64_t r = 0;
  for (; r + 4 <= rows; r += 4) rows_block<4>(p, x + r * p.in, y + r * p.out, relu);
  switch (rows - r) {
    case 3: rows_block<3>(p, x + r * p.in, y + r * p.out, relu); break;
    case 2: rows_block<2>(p, x + r * p.in, y + r * p.out, relu); break;
    case 1: rows_block<1>(p, x + r * p.in, y + r * p.out, relu); break;
    default: break;
  }
}

}  // namespace gc::cpu::linear_rows_detail
