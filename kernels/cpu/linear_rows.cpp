// pack_linear, the dispatch of packed_linear_forward and its portable
// version (linear_rows.h; the AVX2 kernel is in linear_rows_avx2.cpp).
#include "kernels/cpu/linear_rows.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "kernels/cpu/cpu_features.h"

namespace gc::cpu {

PackedLinear pack_linear(int in, int out, const float* w, const float* bias) {
  if (in < 1 || out < 1)
    throw std::invalid_argument("pack_linear: sizes must be >= 1, got in=" + std::to_string(in) +
                                " out=" + std::to_string(out));
  if (w == nullptr) throw std::invalid_argument("pack_linear: weight is null");
  PackedLinear p;
  p.in = in;
  p.out = out;
  p.out_padded = (out + 15) / 16 * 16;
  p.wt.assign(size_t(in) * p.out_padded, 0.0f);
  p.bias.assign(p.out_padded, 0.0f);
  for (int o = 0; o < out; ++o) {
    for (int i = 0; i < in; ++i) p.wt[size_t(i) * p.out_padded + o] = w[size_t(o) * in + i];
    if (bias) p.bias[o] = bias[o];
  }
  return p;
}

// The same sums in the same order as the AVX2 kernel (std::fma: one rounding
// per step; blocks as linear_rows.h says).
static void forward_portable(const PackedLinear& p, int64_t rows, const float* x, float* y, bool relu) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * p.in;
    for (int o = 0; o < p.out; ++o) {
      float total = p.bias[o];
      for (int i0 = 0; i0 < p.in; i0 += kLinearSumBlock) {
        float sum = 0;
        for (int i = i0; i < std::min(p.in, i0 + kLinearSumBlock); ++i)
          sum = std::fma(xr[i], p.wt[size_t(i) * p.out_padded + o], sum);
        total = sum + total;
      }
      y[r * p.out + o] = relu ? std::max(total, 0.0f) : total;
    }
  }
}

void packed_linear_forward(const PackedLinear& p, int64_t rows, const float* x, float* y, bool relu) {
  if (rows < 0 || (rows > 0 && (x == nullptr || y == nullptr)))
    throw std::invalid_argument("packed_linear_forward: " + std::to_string(rows) + " rows with a null pointer");
  if (active_simd_level() >= SimdLevel::avx2) return linear_rows_detail::forward_avx2(p, rows, x, y, relu);
  forward_portable(p, rows, x, y, relu);
}

}  // namespace gc::cpu
