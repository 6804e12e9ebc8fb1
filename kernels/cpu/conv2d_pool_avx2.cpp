// conv2d_pool_relu_forward for float with AVX2 + FMA (built with -mavx2 -mfma;
// called only where cpu_supports(avx2)). No templates, standard algorithms or
// containers here: an inline function instantiated in this file could be
// picked by the linker for the portable callers too, and fault on a CPU
// without AVX2.
//
// One pooled row at a time, read from the c_in × 4 input rows under it.
// Eight pooled outputs are sixteen columns of two convolution rows, four
// registers of accumulators; each weight is broadcast once and multiplies
// four input vectors. A row's last block reads on past the row end, into
// the next row, whose values land in output lanes that are dropped; only
// where that would pass the end of the input are the rows first copied into
// zero-padded rows (a copy for every row cost a quarter of the kernel's
// time). The sums run over (ci, ky, kx) in that order, as the GEMM of the
// im2col path does.
#include <immintrin.h>

#include <cstddef>
#include <cstring>

#include "kernels/cpu/conv2d_pool.h"

namespace gc::cpu::conv_pool_detail {
namespace {

using idx = std::ptrdiff_t;

// Pooled output j of 8 = max(column 2j, column 2j + 1) of the sixteen in lo, hi.
__m256 pool_columns(__m256 lo, __m256 hi) {
  const __m256 even = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));  // lo0 lo2 hi0 hi2 | lo4 lo6 hi4 hi6
  const __m256 odd = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1));
  const __m256 pairs = _mm256_max_ps(even, odd);
  // 64-bit chunks (lo0,2)(hi0,2)(lo4,6)(hi4,6) → (lo0,2)(lo4,6)(hi0,2)(hi4,6).
  return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(pairs), _MM_SHUFFLE(3, 1, 2, 0)));
}

// An empty asm that claims to change v: the compiler must hold v in a
// register, so it cannot fold the load into each channel's FMA as a memory
// operand (GCC 12 did, loading every input vector once per channel: the
// loads, not the FMAs, then bounded the loop).
inline void keep_in_register(__m256& v) { __asm__("" : "+x"(v)); }

// The c_in × 4 input rows under one pooled row: row r of channel ci starts
// at first + ci·channel_stride + r·row_stride.
struct InputRows {
  const float* first;
  idx row_stride, channel_stride;
};

// Eight pooled outputs of one row for output channels co .. co + C − 1: C·4
// accumulator chains, each input vector loaded once for the C channels.
template <int C>
void pooled_block(const Conv2dShape& s, InputRows in, const float* w, const float* bias, int co, int blk,
                  __m256 out[C]) {
  __m256 top_lo[C], top_hi[C], bottom_lo[C], bottom_hi[C];
  for (int c = 0; c < C; ++c) top_lo[c] = top_hi[c] = bottom_lo[c] = bottom_hi[c] = _mm256_setzero_ps();
  const int taps = 9 * s.c_in;
  for (int ci = 0; ci < s.c_in; ++ci)
    for (int ky = 0; ky < 3; ++ky)
      for (int kx = 0; kx < 3; ++kx) {
        const float* top = in.first + ci * in.channel_stride + ky * in.row_stride + 16 * blk + kx;
        const float* bottom = top + in.row_stride;
        __m256 t0 = _mm256_loadu_ps(top), t1 = _mm256_loadu_ps(top + 8);
        __m256 b0 = _mm256_loadu_ps(bottom), b1 = _mm256_loadu_ps(bottom + 8);
        keep_in_register(t0);
        keep_in_register(t1);
        keep_in_register(b0);
        keep_in_register(b1);
        for (int c = 0; c < C; ++c) {
          const __m256 wk = _mm256_broadcast_ss(w + idx(co + c) * taps + ci * 9 + ky * 3 + kx);
          top_lo[c] = _mm256_fmadd_ps(wk, t0, top_lo[c]);
          top_hi[c] = _mm256_fmadd_ps(wk, t1, top_hi[c]);
          bottom_lo[c] = _mm256_fmadd_ps(wk, b0, bottom_lo[c]);
          bottom_hi[c] = _mm256_fmadd_ps(wk, b1, bottom_hi[c]);
        }
      }
  for (int c = 0; c < C; ++c) {
    const __m256 pooled = pool_columns(_mm256_max_ps(top_lo[c], bottom_lo[c]), _mm256_max_ps(top_hi[c], bottom_hi[c]));
    const __m256 b = _mm256_set1_ps(bias ? bias[co + c] : 0.0f);
    out[c] = _mm256_max_ps(_mm256_add_ps(pooled, b), _mm256_setzero_ps());
  }
}

// The first `count` lanes of v, by a masked store (lane i is stored where
// mask lane i has its sign bit set): a memcpy of the tail was a library call
// per channel and row, 4% of the seed CNN's inference.
void store_pooled(float* at, __m256 v, int count) {
  if (count == 8) return _mm256_storeu_ps(at, v);
  const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  _mm256_maskstore_ps(at, mask, v);
}

}  // namespace

void forward_avx2(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y,
                  int first, int last, float* rows) {
  const int ph = s.out_h() / 2, pw = s.out_w() / 2, blocks = (pw + 7) / 8, rf = row_floats(s);
  const idx plane = idx(s.h) * s.w, x_image = s.c_in * plane, y_plane = idx(ph) * pw;
  const float* x_end = x + s.n * x_image;
  std::memset(rows, 0, sizeof(float) * s.c_in * 4 * rf);
  for (int img = first; img < last; ++img) {
    const float* xi = x + img * x_image;
    float* yi = y + idx(img) * s.c_out * y_plane;
    for (int py = 0; py < ph; ++py) {
      InputRows in{xi + idx(2 * py) * s.w, s.w, plane};
      // The furthest load: the last channel's row 3, block blocks − 1, kx = 2, lane 15.
      if (in.first + (s.c_in - 1) * plane + 3 * idx(s.w) + rf > x_end) {
        for (int ci = 0; ci < s.c_in; ++ci)
          for (int r = 0; r < 4; ++r)
            std::memcpy(rows + idx(ci * 4 + r) * rf, in.first + ci * plane + r * idx(s.w), sizeof(float) * s.w);
        in = {rows, rf, 4 * idx(rf)};
      }
      for (int blk = 0; blk < blocks; ++blk) {
        const int count = pw - 8 * blk < 8 ? pw - 8 * blk : 8;
        float* at = yi + idx(py) * pw + 8 * blk;
        int co = 0;
        for (; co + 2 <= s.c_out; co += 2) {
          __m256 out[2];
          pooled_block<2>(s, in, w, bias, co, blk, out);
          store_pooled(at + co * y_plane, out[0], count);
          store_pooled(at + (co + 1) * y_plane, out[1], count);
        }
        if (co < s.c_out) {
          __m256 out[1];
          pooled_block<1>(s, in, w, bias, co, blk, out);
          store_pooled(at + co * y_plane, out[0], count);
        }
      }
    }
  }
}

}  // namespace gc::cpu::conv_pool_detail
