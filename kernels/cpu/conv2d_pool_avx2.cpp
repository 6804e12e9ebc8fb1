// conv2d_pool_relu_forward for float with AVX2 + FMA (built with -mavx2 -mfma;
// called only where cpu_supports(avx2)). No shared templates, standard
// algorithms or containers here: an inline function instantiated in this
// file could be picked by the linker for the portable callers too, and fault
// on a CPU without AVX2 (the templates below have internal linkage).
//
// One pooled row at a time, read from the c_in × 4 input rows under it, in
// blocks of four pooled outputs: eight columns of two convolution rows, one
// 8-lane register per row and output channel, for four output channels at a
// time (eight accumulator chains; each input vector is loaded once for the
// four, each weight broadcast once for both rows). A row's last one or two
// pooled outputs take a 4-lane block (four columns), so a 13-wide pooled row
// (the seed CNN's first layer) computes 28 columns for its 26, where blocks
// of sixteen computed 32. A block reads on past the row end, into the next
// row, whose values land in output lanes that are dropped; only where that
// would pass the end of the input are the rows first copied into zero-padded
// rows (a copy for every row cost a quarter of the kernel's time). The sums
// run over (ci, ky, kx) in that order, as the GEMM of the im2col path does.
//
// Seed CNN first layer, batch 64 (Zen 1): one thread 1380–1400 µs with
// blocks of sixteen columns and two channels, 1180–1228 µs like this; two
// threads 683–763 µs, 607–651 µs.
#include <immintrin.h>

#include <cstddef>
#include <cstring>

#include "kernels/cpu/conv2d_pool.h"

namespace gc::cpu::conv_pool_detail {
namespace {

using idx = std::ptrdiff_t;

// An empty asm that claims to change v: the compiler must hold v in a
// register, so it cannot fold the load into each channel's FMA as a memory
// operand (GCC 12 did, loading every input vector once per channel: the
// loads, not the FMAs, then bounded the loop).
template <typename V>
inline void keep_in_register(V& v) {
  __asm__("" : "+x"(v));
}

// Eight columns in a 256-bit register: four pooled outputs.
struct Wide {
  using V = __m256;
  static constexpr int pooled = 4;
  static V zero() { return _mm256_setzero_ps(); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static V broadcast(const float* p) { return _mm256_broadcast_ss(p); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  // max over rows, then over column pairs (2j, 2j + 1): lanes 0..3.
  static __m128 pool(V top, V bottom) {
    const V rows = _mm256_max_ps(top, bottom);
    const V pairs = _mm256_max_ps(rows, _mm256_permute_ps(rows, _MM_SHUFFLE(2, 3, 0, 1)));
    const V even = _mm256_permute_ps(pairs, _MM_SHUFFLE(2, 0, 2, 0));  // each half: its two maxima, twice
    return _mm_movelh_ps(_mm256_castps256_ps128(even), _mm256_extractf128_ps(even, 1));
  }
};

// Four columns in a 128-bit register: two pooled outputs, in lanes 0 and 1.
struct Narrow {
  using V = __m128;
  static constexpr int pooled = 2;
  static V zero() { return _mm_setzero_ps(); }
  static V load(const float* p) { return _mm_loadu_ps(p); }
  static V broadcast(const float* p) { return _mm_broadcast_ss(p); }
  static V fma(V a, V b, V c) { return _mm_fmadd_ps(a, b, c); }
  static __m128 pool(V top, V bottom) {
    const V rows = _mm_max_ps(top, bottom);
    const V pairs = _mm_max_ps(rows, _mm_permute_ps(rows, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_permute_ps(pairs, _MM_SHUFFLE(2, 0, 2, 0));
  }
};

// The c_in × 4 input rows under one pooled row: row r of channel ci starts
// at first + ci·channel_stride + r·row_stride.
struct InputRows {
  const float* first;
  idx row_stride, channel_stride;
};

// The first `count` lanes of v, by a masked store (lane i is stored where
// mask lane i has its sign bit set): a memcpy of the tail was a library call
// per channel and row, 4% of the seed CNN's inference.
void store_pooled(float* at, __m128 v, int count) {
  if (count == 4) return _mm_storeu_ps(at, v);
  const __m128i mask = _mm_cmpgt_epi32(_mm_set1_epi32(count), _mm_setr_epi32(0, 1, 2, 3));
  _mm_maskstore_ps(at, mask, v);
}

// `count` pooled outputs of one row from column `column`, for output
// channels co .. co + C − 1, stored `y_plane` apart from `at`.
template <typename Lanes, int C>
void pooled_block(const Conv2dShape& s, InputRows in, idx column, const float* w, const float* bias, int co,
                  float* at, idx y_plane, int count) {
  using V = typename Lanes::V;
  V top[C], bottom[C];
#pragma GCC unroll 4
  for (int c = 0; c < C; ++c) top[c] = bottom[c] = Lanes::zero();
  const int taps = 9 * s.c_in;
  for (int ci = 0; ci < s.c_in; ++ci)
#pragma GCC unroll 3
    for (int ky = 0; ky < 3; ++ky)
#pragma GCC unroll 3
      for (int kx = 0; kx < 3; ++kx) {
        const float* p = in.first + ci * in.channel_stride + ky * in.row_stride + column + kx;
        V t = Lanes::load(p), b = Lanes::load(p + in.row_stride);
        keep_in_register(t);
        keep_in_register(b);
#pragma GCC unroll 4
        for (int c = 0; c < C; ++c) {
          const V wk = Lanes::broadcast(w + idx(co + c) * taps + ci * 9 + ky * 3 + kx);
          top[c] = Lanes::fma(wk, t, top[c]);
          bottom[c] = Lanes::fma(wk, b, bottom[c]);
        }
      }
#pragma GCC unroll 4
  for (int c = 0; c < C; ++c) {
    const __m128 b = _mm_set1_ps(bias ? bias[co + c] : 0.0f);
    const __m128 out = _mm_max_ps(_mm_add_ps(Lanes::pool(top[c], bottom[c]), b), _mm_setzero_ps());
    store_pooled(at + (co + c) * y_plane, out, count);
  }
}

// Every output channel of one block: four at a time, then the 1–3 left.
template <typename Lanes>
void pooled_channels(const Conv2dShape& s, InputRows in, idx column, const float* w, const float* bias, float* at,
                     idx y_plane, int count) {
  int co = 0;
  for (; co + 4 <= s.c_out; co += 4)
    pooled_block<Lanes, 4>(s, in, column, w, bias, co, at, y_plane, count);
  switch (s.c_out - co) {
    case 3: return pooled_block<Lanes, 3>(s, in, column, w, bias, co, at, y_plane, count);
    case 2: return pooled_block<Lanes, 2>(s, in, column, w, bias, co, at, y_plane, count);
    case 1: return pooled_block<Lanes, 1>(s, in, column, w, bias, co, at, y_plane, count);
  }
}

// One pooled row: blocks of four pooled outputs (the last may hold three),
// then a block of the one or two left.
void pooled_row(const Conv2dShape& s, InputRows in, const float* w, const float* bias, float* at, idx y_plane) {
  const int pw = s.out_w() / 2;
  int px = 0;
  for (; pw - px >= 3; px += 4)
    pooled_channels<Wide>(s, in, 2 * px, w, bias, at + px, y_plane, pw - px < 4 ? 3 : 4);
  if (px < pw) pooled_channels<Narrow>(s, in, 2 * px, w, bias, at + px, y_plane, pw - px);
}

}  // namespace

void forward_avx2(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y,
                  int first, int last, float* rows) {
  const int ph = s.out_h() / 2, pw = s.out_w() / 2, rf = row_floats(s);
  const idx plane = idx(s.h) * s.w, x_image = s.c_in * plane, y_plane = idx(ph) * pw;
  const float* x_end = x + s.n * x_image;
  std::memset(rows, 0, sizeof(float) * s.c_in * 4 * rf);
  for (int img = first; img < last; ++img) {
    const float* xi = x + img * x_image;
    float* yi = y + idx(img) * s.c_out * y_plane;
    for (int py = 0; py < ph; ++py) {
      InputRows in{xi + idx(2 * py) * s.w, s.w, plane};
      // The furthest load: the last channel's row 3, column rf − 1.
      if (in.first + (s.c_in - 1) * plane + 3 * idx(s.w) + rf > x_end) {
        for (int ci = 0; ci < s.c_in; ++ci)
          for (int r = 0; r < 4; ++r)
            std::memcpy(rows + idx(ci * 4 + r) * rf, in.first + ci * plane + r * idx(s.w), sizeof(float) * s.w);
        in = {rows, rf, 4 * idx(rf)};
      }
      pooled_row(s, in, w, bias, yi + idx(py) * pw, y_plane);
    }
  }
}

}  // namespace gc::cpu::conv_pool_detail
