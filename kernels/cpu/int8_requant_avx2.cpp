// AVX2 requantization: 8 output channels per step, the float steps of
// int8_requant.cpp's requantize_one in the same order (cvtdq2ps and cvtps2dq
// round to nearest even, like the scalar conversion and std::nearbyint), so
// the bytes are identical. Channels past the last multiple of 8 take the
// scalar function.
#include <immintrin.h>

#include <algorithm>

#include "kernels/cpu/int8_requant.h"

namespace gc::cpu::int8_detail {
namespace {

// 8 sums of channels j..j+7 → 8 bytes at out.
inline void requantize8(__m256i acc, int j, const Requantization& rq, uint8_t* out) {
  const __m256i biased = _mm256_add_epi32(acc, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rq.bias + j)));
  __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(biased), _mm256_loadu_ps(rq.scale + j));
  v = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(-512.0f)), _mm256_set1_ps(512.0f));
  __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(v), _mm256_set1_epi32(rq.zero_point));
  q = _mm256_max_epi32(q, _mm256_set1_epi32(rq.relu ? rq.zero_point : 0));
  q = _mm256_min_epi32(q, _mm256_set1_epi32(255));
  // 8 int32 in [0, 255] → 8 bytes.
  const __m128i words = _mm_packus_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
  _mm_storel_epi64(reinterpret_cast<__m128i*>(out), _mm_packus_epi16(words, words));
}

inline __m256i load8(const int32_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

}  // namespace

void requantize_avx2(const int32_t* acc, int rows, int n, std::ptrdiff_t ld_acc, const Requantization& rq,
                     uint8_t* out, std::ptrdiff_t ld_out) {
  for (int i = 0; i < rows; ++i) {
    const int32_t* a = acc + i * ld_acc;
    uint8_t* o = out + i * ld_out;
    int j = 0;
    for (; j + 8 <= n; j += 8) requantize8(load8(a + j), j, rq, o + j);
    for (; j < n; ++j) o[j] = requantize_one(a[j], j, rq);
  }
}

void requantize_maxpool2x2_avx2(const int32_t* acc, int h, int w, int n, const Requantization& rq,
                                uint8_t* out) {
  const int oh = h / 2, ow = w / 2;
  for (int oy = 0; oy < oh; ++oy) {
    for (int ox = 0; ox < ow; ++ox) {
      const int32_t* top = acc + (std::ptrdiff_t(2 * oy) * w + 2 * ox) * n;
      const int32_t* bottom = top + std::ptrdiff_t(w) * n;
      uint8_t* o = out + (std::ptrdiff_t(oy) * ow + ox) * n;
      int j = 0;
      for (; j + 8 <= n; j += 8) {
        const __m256i m = _mm256_max_epi32(_mm256_max_epi32(load8(top + j), load8(top + n + j)),
                                           _mm256_max_epi32(load8(bottom + j), load8(bottom + n + j)));
        requantize8(m, j, rq, o + j);
      }
      for (; j < n; ++j) {
        const int32_t m = std::max(std::max(top[j], top[n + j]), std::max(bottom[j], bottom[n + j]));
        o[j] = requantize_one(m, j, rq);
      }
    }
  }
}

}  // namespace gc::cpu::int8_detail
