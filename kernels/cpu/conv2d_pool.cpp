// conv2d_pool_relu_forward: checks, the choice of path (conv2d_pool.h), the
// direct kernel's split over threads and its portable version (double, and
// float without AVX2; the AVX2 kernel is in conv2d_pool_avx2.cpp).
#include "kernels/cpu/conv2d_pool.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "kernels/cpu/activation.h"
#include "kernels/cpu/conv2d_winograd.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/image_chunks.h"
#include "kernels/cpu/pool2d.h"

namespace gc::cpu {
namespace {

using idx = std::ptrdiff_t;
using conv_detail::for_shared_chunks;
using conv_detail::scratch;

// Σ_{ci,ky,kx} w·x for the convolution output at (oy, ox) of one image.
template <typename T>
T conv_at(const Conv2dShape& s, const T* xi, const T* wc, int oy, int ox) {
  T sum = 0;
  for (int ci = 0; ci < s.c_in; ++ci)
    for (int ky = 0; ky < 3; ++ky)
      for (int kx = 0; kx < 3; ++kx)
        sum += wc[ci * 9 + ky * 3 + kx] * xi[(idx(ci) * s.h + oy + ky) * s.w + ox + kx];
  return sum;
}

template <typename T>
void forward_portable(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y, int first, int last) {
  const int ph = s.out_h() / 2, pw = s.out_w() / 2;
  const idx x_image = idx(s.c_in) * s.h * s.w;
  for (int img = first; img < last; ++img)
    for (int co = 0; co < s.c_out; ++co) {
      const T* wc = w + idx(co) * 9 * s.c_in;
      const T b = bias ? bias[co] : T(0);
      T* yp = y + (idx(img) * s.c_out + co) * ph * pw;
      for (int py = 0; py < ph; ++py)
        for (int px = 0; px < pw; ++px) {
          T best = conv_at(s, x + img * x_image, wc, 2 * py, 2 * px);
          for (int k = 1; k < 4; ++k) best = std::max(best, conv_at(s, x + img * x_image, wc, 2 * py + k / 2, 2 * px + k % 2));
          yp[idx(py) * pw + px] = std::max(best + b, T(0));
        }
    }
}

template <typename T>
void forward_direct(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y) {
  const double macs = double(s.n) * s.c_out * s.out_h() * s.out_w() * s.c_in * 9;
  const bool avx2 = active_simd_level() >= SimdLevel::avx2;
  // Chunks of images taken in turn, about four per thread.
  const int chunk = std::max(1, s.n / (4 * omp_get_max_threads()));
  for_shared_chunks(s.n, chunk, macs, [&](int begin, int end, int) {
    if constexpr (std::is_same_v<T, float>) {
      if (avx2) {
        float* rows = scratch<float, 20>(idx(s.c_in) * 4 * conv_pool_detail::row_floats(s));
        return conv_pool_detail::forward_avx2(s, x, w, bias, y, begin, end, rows);
      }
    }
    forward_portable(s, x, w, bias, y, begin, end);
  });
}

// The three kernels in turn, through a per-thread buffer for the whole
// output (steady-state calls allocate nothing: an online image's second
// seed CNN layer comes here).
template <typename T>
void forward_unfused(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y) {
  T* full = scratch<T, 21>(idx(s.n) * s.c_out * s.out_h() * s.out_w());
  conv2d_forward(s, x, w, bias, full);
  const Pool2dShape pool{s.n, s.c_out, s.out_h(), s.out_w(), 2, 2, 2, 2};
  max_pool2d_forward<T>(pool, full, y, nullptr);
  relu_forward<T>(int64_t(s.n) * s.c_out * pool.out_h() * pool.out_w(), y, y);
}

}  // namespace

bool conv2d_pool_relu_supports(const Conv2dShape& s) {
  try {
    validate_conv2d_shape(s, "conv2d_pool_relu_supports");
  } catch (const std::invalid_argument&) {
    return false;
  }
  return s.out_h() >= 2 && s.out_w() >= 2;
}

bool conv2d_pool_relu_direct(const Conv2dShape& s) {
  return s.kh == 3 && s.kw == 3 && s.stride_h == 1 && s.stride_w == 1 && s.dil_h == 1 && s.dil_w == 1 &&
         s.pad_h == 0 && s.pad_w == 0 && s.c_in <= kConvPoolMaxInputChannels;
}

int conv_pool_detail::row_floats(const Conv2dShape& s) {
  // Blocks of 8 columns (4 pooled outputs) read 2 past their end; a last
  // block of 4 columns reads less.
  return 8 * ((s.out_w() / 2 + 3) / 4) + 2;
}

template <typename T>
void conv2d_pool_relu_forward(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y) {
  constexpr const char* op = "conv2d_pool_relu_forward";
  validate_conv2d_shape(s, op);
  if (s.out_h() < 2 || s.out_w() < 2)
    throw std::invalid_argument(std::string(op) + ": a 2x2 pool needs a convolution output of at least 2x2, got " +
                                std::to_string(s.out_h()) + "x" + std::to_string(s.out_w()));
  if (x == nullptr || w == nullptr || y == nullptr) throw std::invalid_argument(std::string(op) + ": null pointer argument");
  if (conv2d_pool_relu_direct(s)) return forward_direct(s, x, w, bias, y);
  if (conv2d_uses_winograd(s, ConvPass::forward))
    return winograd_conv2d_pool_relu_forward(s, x, w, bias, y, winograd_pooled_tile_for(s));
  forward_unfused(s, x, w, bias, y);
}

template void conv2d_pool_relu_forward<float>(const Conv2dShape&, const float*, const float*, const float*, float*);
template void conv2d_pool_relu_forward<double>(const Conv2dShape&, const double*, const double*, const double*,
                                               double*);

}  // namespace gc::cpu
