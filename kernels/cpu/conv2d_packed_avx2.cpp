// packed_conv2d_forward's tiles for float with AVX2 + FMA (built with -mavx2
// -mfma; called only where cpu_supports(avx2)). The templates here have
// internal linkage and no standard containers are instantiated, so no AVX2
// code can be picked by the linker for a portable caller.
//
// A register tile is 4 pixels × V vectors of 8 output channels (V ≤ 3:
// twelve sums, three weight vectors and one broadcast fill the 16 ymm
// registers). Channel blocks are the outer loop and tiles the inner one, so
// a block's packed weights (kdim × 24 floats: 27 KiB for the seed CNN's
// second layer) stay in L1 while the image's tiles pass over them.
#include <immintrin.h>

#include <cstddef>

#include "kernels/cpu/conv2d_packed.h"
#include "kernels/cpu/linear_rows.h"

namespace gc::cpu::conv_packed_detail {
namespace {

using idx = std::ptrdiff_t;

// An empty asm that claims to change v: the compiler must hold v in a
// register rather than fold its load into each pixel's FMA as a memory
// operand (GCC 12 did: sixteen loads per k instead of seven, and the loads,
// not the FMAs, then bounded the loop).
inline void keep_in_register(__m256& v) { __asm__("" : "+x"(v)); }

template <int V>
void tile(const PackedConv2d& p, int t, int cb, const float* x, float* y) {
  const int* pixel = p.pixel_offsets.data() + 4 * t;
  const float *x0 = x + pixel[0], *x1 = x + pixel[1], *x2 = x + pixel[2], *x3 = x + pixel[3];
  const int kdim = int(p.k_offsets.size());
  __m256 total[4][V];
  for (int k0 = 0; k0 < kdim; k0 += kLinearSumBlock) {
    const int k1 = kdim - k0 < kLinearSumBlock ? kdim : k0 + kLinearSumBlock;
    __m256 acc[4][V];
    for (int j = 0; j < 4; ++j)
      for (int v = 0; v < V; ++v) acc[j][v] = _mm256_setzero_ps();
    const float* w = p.w.data() + idx(k0) * p.c_out_padded + cb;
    for (int k = k0; k < k1; ++k, w += p.c_out_padded) {
      const int at = p.k_offsets[k];
      __m256 wv[V];
      for (int v = 0; v < V; ++v) {
        wv[v] = _mm256_loadu_ps(w + 8 * v);
        keep_in_register(wv[v]);
      }
      // One broadcast live at a time: 12 sums + 3 weights + 1 = 16 registers.
      const float* pixels[4] = {x0 + at, x1 + at, x2 + at, x3 + at};
      for (int j = 0; j < 4; ++j) {
        __m256 b = _mm256_broadcast_ss(pixels[j]);
        keep_in_register(b);
        for (int v = 0; v < V; ++v) acc[j][v] = _mm256_fmadd_ps(b, wv[v], acc[j][v]);
      }
    }
    for (int j = 0; j < 4; ++j)
      for (int v = 0; v < V; ++v) total[j][v] = k0 == 0 ? acc[j][v] : _mm256_add_ps(acc[j][v], total[j][v]);
  }

  const __m256 zero = _mm256_setzero_ps();
  const int c_out = p.shape.c_out;
  // Channel cb + 8v + l of value `values` to plane position q.
  auto scatter = [&](__m256 values, int v, int q) {
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, values);
    const int c0 = cb + 8 * v, count = c_out - c0 < 8 ? c_out - c0 : 8;
    for (int l = 0; l < count; ++l) y[idx(c0 + l) * p.plane + q] = lanes[l];
  };
  if (p.tail == ConvTail::pool_relu) {
    for (int v = 0; v < V; ++v) {
      const __m256 best = _mm256_max_ps(_mm256_max_ps(total[0][v], total[1][v]), _mm256_max_ps(total[2][v], total[3][v]));
      const __m256 out = _mm256_max_ps(zero, _mm256_add_ps(best, _mm256_loadu_ps(p.bias.data() + cb + 8 * v)));
      scatter(out, v, p.outputs[t]);
    }
    return;
  }
  for (int j = 0; j < 4; ++j) {
    const int q = p.outputs[4 * t + j];
    if (q < 0) continue;
    for (int v = 0; v < V; ++v) {
      __m256 out = _mm256_add_ps(total[j][v], _mm256_loadu_ps(p.bias.data() + cb + 8 * v));
      if (p.tail == ConvTail::relu) out = _mm256_max_ps(zero, out);  // max(0, NaN) is NaN
      scatter(out, v, q);
    }
  }
}

template <int V>
void tiles(const PackedConv2d& p, int cb, int first, int last, const float* x, float* y) {
  for (int t = first; t < last; ++t) tile<V>(p, t, cb, x, y);
}

}  // namespace

void tiles_avx2(const PackedConv2d& p, int first, int last, const float* x, float* y) {
  for (int cb = 0; cb < p.c_out_padded; cb += 24) {
    switch ((p.c_out_padded - cb) / 8) {
      case 1: tiles<1>(p, cb, first, last, x, y); break;
      case 2: tiles<2>(p, cb, first, last, x, y); break;
      default: tiles<3>(p, cb, first, last, x, y); break;
    }
  }
}

}  // namespace gc::cpu::conv_packed_detail
