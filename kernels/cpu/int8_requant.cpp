// Scalar requantization (the reference the AVX2 path must equal), the
// dispatch, dequantization and u8 im2col. Formulas in int8_requant.h.
#include "kernels/cpu/int8_requant.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace gc::cpu {

// int8_requant_avx2.cpp mirrors these steps.
uint8_t int8_detail::requantize_one(int32_t acc, int j, const Requantization& rq) {
  float v = static_cast<float>(acc + rq.bias[j]) * rq.scale[j];
  v = std::min(std::max(v, -512.0f), 512.0f);
  const int32_t q = static_cast<int32_t>(std::nearbyint(v)) + rq.zero_point;
  const int32_t lo = rq.relu ? rq.zero_point : 0;
  return static_cast<uint8_t>(std::min(std::max(q, lo), 255));
}

void requantize(Int8Path path, const int32_t* acc, int rows, int n, std::ptrdiff_t ld_acc,
                const Requantization& rq, uint8_t* out, std::ptrdiff_t ld_out) {
  if (path != Int8Path::scalar) return int8_detail::requantize_avx2(acc, rows, n, ld_acc, rq, out, ld_out);
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < n; ++j) out[i * ld_out + j] = int8_detail::requantize_one(acc[i * ld_acc + j], j, rq);
}

void requantize_maxpool2x2(Int8Path path, const int32_t* acc, int h, int w, int n, const Requantization& rq,
                           uint8_t* out) {
  if (path != Int8Path::scalar) return int8_detail::requantize_maxpool2x2_avx2(acc, h, w, n, rq, out);
  const int oh = h / 2, ow = w / 2;
  for (int oy = 0; oy < oh; ++oy) {
    for (int ox = 0; ox < ow; ++ox) {
      const int32_t* top = acc + (std::ptrdiff_t(2 * oy) * w + 2 * ox) * n;
      const int32_t* bottom = top + std::ptrdiff_t(w) * n;
      for (int j = 0; j < n; ++j) {
        const int32_t m = std::max(std::max(top[j], top[n + j]), std::max(bottom[j], bottom[n + j]));
        out[(std::ptrdiff_t(oy) * ow + ox) * n + j] = int8_detail::requantize_one(m, j, rq);
      }
    }
  }
}

void dequantize(const int32_t* acc, int rows, int n, std::ptrdiff_t ld_acc, const int32_t* bias,
                const float* scale, float* out, std::ptrdiff_t ld_out) {
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < n; ++j)
      out[i * ld_out + j] = static_cast<float>(acc[i * ld_acc + j] + bias[j]) * scale[j];
}

// Copies n bytes in fixed-size steps the compiler inlines: the runs here are
// a few to a few hundred bytes, where a call to memcpy costs more than the copy.
static void copy_run(uint8_t* dst, const uint8_t* src, std::ptrdiff_t n) {
  for (; n >= 16; n -= 16, dst += 16, src += 16) __builtin_memcpy(dst, src, 16);
  for (; n >= 4; n -= 4, dst += 4, src += 4) __builtin_memcpy(dst, src, 4);
  for (; n > 0; --n) *dst++ = *src++;
}

void im2col_u8(const uint8_t* x, int h, int w, int c, int k, int stride, int pad, uint8_t pad_value,
               uint8_t* col, std::ptrdiff_t ld) {
  const int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
  const std::ptrdiff_t run = std::ptrdiff_t(k) * c;  // one kernel row: k pixels × c channels, contiguous
  for (int oy = 0; oy < oh; ++oy) {
    for (int ox = 0; ox < ow; ++ox) {
      uint8_t* row = col + (std::ptrdiff_t(oy) * ow + ox) * ld;
      const int x0 = ox * stride - pad;
      for (int ky = 0; ky < k; ++ky) {
        const int y = oy * stride - pad + ky;
        uint8_t* dst = row + ky * run;
        if (y < 0 || y >= h) {
          std::memset(dst, pad_value, size_t(run));
        } else if (x0 >= 0 && x0 + k <= w) {
          copy_run(dst, x + (std::ptrdiff_t(y) * w + x0) * c, run);
        } else {
          for (int kx = 0; kx < k; ++kx) {
            const int xx = x0 + kx;
            if (xx < 0 || xx >= w)
              std::memset(dst + kx * c, pad_value, size_t(c));
            else
              copy_run(dst + kx * c, x + (std::ptrdiff_t(y) * w + xx) * c, c);
          }
        }
      }
    }
  }
}

}  // namespace gc::cpu
