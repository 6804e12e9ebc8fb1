// pack_conv2d, the driver of packed_conv2d_forward (padding, threads) and
// its portable tile loop (conv2d_packed.h; the AVX2 one is in
// conv2d_packed_avx2.cpp).
#include "kernels/cpu/conv2d_packed.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/image_chunks.h"
#include "kernels/cpu/linear_rows.h"

namespace gc::cpu {
namespace {

using idx = std::ptrdiff_t;
using conv_detail::kParallelMinMacs;
using conv_detail::scratch;

// The pixel tiles of conv2d_packed.h: offsets of each tile's 4 pixels in the
// padded image, and where their results go in a channel plane.
void lay_out_tiles(PackedConv2d& p) {
  const Conv2dShape& s = p.shape;
  auto offset = [&](int oy, int ox) { return oy * s.stride_h * p.padded_w + ox * s.stride_w; };
  if (p.tail == ConvTail::pool_relu) {
    const int ph = s.out_h() / 2, pw = s.out_w() / 2;
    p.plane = ph * pw;
    for (int py = 0; py < ph; ++py)
      for (int px = 0; px < pw; ++px) {
        for (int k = 0; k < 4; ++k) p.pixel_offsets.push_back(offset(2 * py + k / 2, 2 * px + k % 2));
        p.outputs.push_back(py * pw + px);
      }
  } else {
    const int ow = s.out_w();
    p.plane = s.out_h() * ow;
    for (int q0 = 0; q0 < p.plane; q0 += 4)
      for (int k = 0; k < 4; ++k) {
        const int q = std::min(q0 + k, p.plane - 1);
        p.pixel_offsets.push_back(offset(q / ow, q % ow));
        p.outputs.push_back(q0 + k < p.plane ? q : -1);
      }
  }
  p.tiles = int(p.pixel_offsets.size() / 4);
}

// The same sums in the same order as the AVX2 kernel (conv2d_packed.h).
void tiles_portable(const PackedConv2d& p, int first, int last, const float* x, float* y) {
  const Conv2dShape& s = p.shape;
  const int kdim = int(p.k_offsets.size());
  for (int t = first; t < last; ++t) {
    const int* pixel = p.pixel_offsets.data() + 4 * t;
    for (int co = 0; co < s.c_out; ++co) {
      float totals[4];
      for (int j = 0; j < 4; ++j) {
        float total = 0;
        for (int k0 = 0; k0 < kdim; k0 += kLinearSumBlock) {
          float sum = 0;
          for (int k = k0; k < std::min(kdim, k0 + kLinearSumBlock); ++k)
            sum = std::fma(x[p.k_offsets[k] + pixel[j]], p.w[idx(k) * p.c_out_padded + co], sum);
          total = k0 == 0 ? sum : sum + total;
        }
        totals[j] = total;
      }
      float* plane = y + idx(co) * p.plane;
      if (p.tail == ConvTail::pool_relu) {
        const float best = std::max(std::max(totals[0], totals[1]), std::max(totals[2], totals[3]));
        plane[p.outputs[t]] = std::max(best + p.bias[co], 0.0f);
        continue;
      }
      for (int j = 0; j < 4; ++j) {
        const int q = p.outputs[4 * t + j];
        if (q < 0) continue;
        const float v = totals[j] + p.bias[co];
        plane[q] = p.tail == ConvTail::relu ? std::max(v, 0.0f) : v;
      }
    }
  }
}

void run_tiles(const PackedConv2d& p, int first, int last, const float* x, float* y) {
  if (active_simd_level() >= SimdLevel::avx2) return conv_packed_detail::tiles_avx2(p, first, last, x, y);
  tiles_portable(p, first, last, x, y);
}

// Image i's input as the tiles read it: x itself, or a zero-padded copy in
// `buffer` when the layer pads.
const float* padded_image(const PackedConv2d& p, const float* x, float* buffer) {
  const Conv2dShape& s = p.shape;
  if (s.pad_h == 0 && s.pad_w == 0) return x;
  std::fill_n(buffer, idx(s.c_in) * p.padded_h * p.padded_w, 0.0f);
  for (int c = 0; c < s.c_in; ++c)
    for (int r = 0; r < s.h; ++r)
      std::copy_n(x + (idx(c) * s.h + r) * s.w, s.w,
                  buffer + (idx(c) * p.padded_h + r + s.pad_h) * p.padded_w + s.pad_w);
  return buffer;
}

}  // namespace

PackedConv2d pack_conv2d(const Conv2dShape& s, const float* w, const float* bias, ConvTail tail) {
  validate_conv2d_shape(s, "pack_conv2d");
  if (w == nullptr) throw std::invalid_argument("pack_conv2d: weight is null");
  if (tail == ConvTail::pool_relu && (s.out_h() < 2 || s.out_w() < 2))
    throw std::invalid_argument("pack_conv2d: a 2x2 pool needs a convolution output of at least 2x2, got " +
                                std::to_string(s.out_h()) + "x" + std::to_string(s.out_w()));
  PackedConv2d p;
  p.shape = s;
  p.tail = tail;
  p.c_out_padded = (s.c_out + 7) / 8 * 8;
  p.padded_h = s.h + 2 * s.pad_h;
  p.padded_w = s.w + 2 * s.pad_w;
  const int kdim = s.c_in * s.kh * s.kw;
  p.w.assign(idx(kdim) * p.c_out_padded, 0.0f);
  p.bias.assign(p.c_out_padded, 0.0f);
  for (int co = 0; co < s.c_out; ++co) {
    for (int k = 0; k < kdim; ++k) p.w[idx(k) * p.c_out_padded + co] = w[idx(co) * kdim + k];
    if (bias) p.bias[co] = bias[co];
  }
  for (int ci = 0; ci < s.c_in; ++ci)
    for (int ky = 0; ky < s.kh; ++ky)
      for (int kx = 0; kx < s.kw; ++kx)
        p.k_offsets.push_back((ci * p.padded_h + ky * s.dil_h) * p.padded_w + kx * s.dil_w);
  lay_out_tiles(p);
  return p;
}

void packed_conv2d_forward(const PackedConv2d& p, int n, const float* x, float* y) {
  if (n < 1 || x == nullptr || y == nullptr)
    throw std::invalid_argument("packed_conv2d_forward: " + std::to_string(n) + " images, or a null pointer");
  const Conv2dShape& s = p.shape;
  const idx x_image = idx(s.c_in) * s.h * s.w, y_image = idx(s.c_out) * p.plane;
  const idx padded_size = idx(s.c_in) * p.padded_h * p.padded_w;
  const double macs = double(n) * s.c_out * s.out_h() * s.out_w() * s.c_in * s.kh * s.kw;
  const int threads = omp_get_max_threads();
  const bool parallel = threads > 1 && macs >= kParallelMinMacs && !omp_in_parallel();
  if (n > 1) {
#pragma omp parallel for schedule(static) if (parallel)
    for (int i = 0; i < n; ++i) {
      const float* xi = padded_image(p, x + i * x_image, scratch<float, 22>(padded_size));
      run_tiles(p, 0, p.tiles, xi, y + i * y_image);
    }
    return;
  }
  // A lone image: padded once, its tiles shared out.
  const float* xi = padded_image(p, x, scratch<float, 22>(padded_size));
  const int chunk = (p.tiles + threads - 1) / threads;
#pragma omp parallel for schedule(static) if (parallel)
  for (int first = 0; first < p.tiles; first += chunk) run_tiles(p, first, std::min(p.tiles, first + chunk), xi, y);
}

}  // namespace gc::cpu
