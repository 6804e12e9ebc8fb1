#include "kernels/cpu/pool2d.h"

#include <algorithm>
#include <climits>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <type_traits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace gc::cpu {
namespace {

using idx = std::ptrdiff_t;

// Below this many window reads a pass runs on the calling thread: waking a
// second thread costs more than it saves.
constexpr double kParallelMinReads = 1 << 16;

bool worth_parallel(const Pool2dShape& s) {
  return double(s.n) * s.c * s.out_h() * s.out_w() * s.kh * s.kw >= kParallelMinReads;
}

int pool_out_size(int size, int pad, int k, int stride) {
  if (stride < 1) return 0;
  const long long span = (long long)size + 2LL * pad - k;
  if (span < 0) return 0;
  const long long out = span / stride + 1;
  return out > INT_MAX ? 0 : int(out);
}

std::string shape_text(const Pool2dShape& s) {
  return "n=" + std::to_string(s.n) + " c=" + std::to_string(s.c) + " h=" + std::to_string(s.h) +
         " w=" + std::to_string(s.w) + " kernel=" + std::to_string(s.kh) + "x" +
         std::to_string(s.kw) + " stride=" + std::to_string(s.stride_h) + "x" +
         std::to_string(s.stride_w) + " pad=" + std::to_string(s.pad_h) + "x" +
         std::to_string(s.pad_w);
}

void require_pointer(const void* p, const char* op, const char* name) {
  if (p == nullptr) throw std::invalid_argument(std::string(op) + ": " + name + " is null");
}

// The window of one output element, clipped to the real input.
struct Window {
  int y0, y1, x0, x1;
};

Window window(const Pool2dShape& s, int oy, int ox) {
  const int ys = oy * s.stride_h - s.pad_h, xs = ox * s.stride_w - s.pad_w;
  return {std::max(ys, 0), std::min(ys + s.kh, s.h), std::max(xs, 0), std::min(xs + s.kw, s.w)};
}

}  // namespace

int Pool2dShape::out_h() const { return pool_out_size(h, pad_h, kh, stride_h); }
int Pool2dShape::out_w() const { return pool_out_size(w, pad_w, kw, stride_w); }

void validate_pool2d_shape(const Pool2dShape& s, const char* op) {
  auto fail = [&](const std::string& why) {
    throw std::invalid_argument(std::string(op) + ": " + why + " (" + shape_text(s) + ")");
  };
  if (s.n < 1 || s.c < 1 || s.h < 1 || s.w < 1 || s.kh < 1 || s.kw < 1)
    fail("every size must be >= 1");
  if (s.stride_h < 1 || s.stride_w < 1) fail("stride must be >= 1");
  if (s.pad_h < 0 || s.pad_w < 0 || s.pad_h >= s.kh || s.pad_w >= s.kw)
    fail("padding must be >= 0 and smaller than the kernel");
  if ((long long)s.h + 2LL * s.pad_h > INT_MAX || (long long)s.w + 2LL * s.pad_w > INT_MAX)
    fail("the padded input exceeds int range");
  if (s.out_h() < 1 || s.out_w() < 1)
    fail("the kernel does not fit the padded input (output would be " +
         std::to_string(s.out_h()) + "x" + std::to_string(s.out_w()) + ")");
  if ((long long)s.h * s.w > INT32_MAX) fail("an input plane has more than 2^31-1 elements");
}

namespace {

// Maximum of the window of output (oy, ox) in one plane, and where it is.
// Strictly greater keeps the first maximum in scan order; the first NaN wins
// and then stays (v > NaN is false).
template <typename T>
void max_window(const Pool2dShape& s, const T* xp, int oy, int ox, T* y, int32_t* argmax) {
  const Window win = window(s, oy, ox);
  int32_t best_at = win.y0 * s.w + win.x0;
  T best = xp[best_at];
  for (int iy = win.y0; iy < win.y1; ++iy)
    for (int ix = win.x0; ix < win.x1; ++ix) {
      const int32_t at = iy * s.w + ix;
      const T v = xp[at];
      if (v > best || (v != v && best == best)) {
        best = v;
        best_at = at;
      }
    }
  *y = best;
  if (argmax) *argmax = best_at;
}

bool is_2x2_stride_2(const Pool2dShape& s) {
  return s.kh == 2 && s.kw == 2 && s.stride_h == 2 && s.stride_w == 2 && s.pad_h == 0 && s.pad_w == 0;
}

#if defined(__SSE2__)
// The same rule as max_window for four 2×2, stride-2 windows at once, with
// masks instead of branches: on random data the scalar comparisons mispredict
// about half the time (bench_pool2d 128×32×26×26, one thread: 13.4 ms scalar,
// 2.5 ms this way).
// take = v > best, or v is NaN and best is not; then best/at = take ? v/k : best/at.
void take_if(__m128 v, __m128i at, __m128& best, __m128i& best_at) {
  const __m128 take = _mm_or_ps(_mm_cmpgt_ps(v, best),
                                _mm_and_ps(_mm_cmpunord_ps(v, v), _mm_cmpord_ps(best, best)));
  best = _mm_or_ps(_mm_and_ps(take, v), _mm_andnot_ps(take, best));
  const __m128i take_i = _mm_castps_si128(take);
  best_at = _mm_or_si128(_mm_and_si128(take_i, at), _mm_andnot_si128(take_i, best_at));
}

// Outputs [0, ow/4·4) of row oy of a 2×2, stride-2, unpadded max pool and
// their arg-max; returns how many it wrote.
int max_pool_2x2_row(const Pool2dShape& s, const float* xp, int oy, int ow, float* y,
                     int32_t* argmax) {
  const float* r0 = xp + idx(2 * oy) * s.w;
  const float* r1 = r0 + s.w;
  const int32_t row0 = 2 * oy * s.w;
  int ox = 0;
  for (; ox + 4 <= ow; ox += 4) {
    // Even and odd columns of the 8 inputs under 4 windows, per input row.
    const __m128 a0 = _mm_loadu_ps(r0 + 2 * ox), a1 = _mm_loadu_ps(r0 + 2 * ox + 4);
    const __m128 b0 = _mm_loadu_ps(r1 + 2 * ox), b1 = _mm_loadu_ps(r1 + 2 * ox + 4);
    const __m128 top_left = _mm_shuffle_ps(a0, a1, _MM_SHUFFLE(2, 0, 2, 0));
    const __m128 top_right = _mm_shuffle_ps(a0, a1, _MM_SHUFFLE(3, 1, 3, 1));
    const __m128 bottom_left = _mm_shuffle_ps(b0, b1, _MM_SHUFFLE(2, 0, 2, 0));
    const __m128 bottom_right = _mm_shuffle_ps(b0, b1, _MM_SHUFFLE(3, 1, 3, 1));
    const __m128i left = _mm_add_epi32(_mm_set1_epi32(row0 + 2 * ox), _mm_set_epi32(6, 4, 2, 0));
    const __m128i one = _mm_set1_epi32(1), down = _mm_set1_epi32(s.w);
    __m128 best = top_left;
    __m128i best_at = left;
    take_if(top_right, _mm_add_epi32(left, one), best, best_at);
    take_if(bottom_left, _mm_add_epi32(left, down), best, best_at);
    take_if(bottom_right, _mm_add_epi32(_mm_add_epi32(left, down), one), best, best_at);
    _mm_storeu_ps(y + ox, best);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(argmax + ox), best_at);
  }
  return ox;
}

// The first-wins rule of max_window for values only: b replaces a when it is
// greater, or when it is NaN and a is not. max_ps(b, a) is b > a ? b : a,
// which already keeps a on ties and when a is NaN.
__m128 first_max(__m128 a, __m128 b) {
  const __m128 b_nan_only = _mm_and_ps(_mm_cmpunord_ps(b, b), _mm_cmpord_ps(a, a));
  return _mm_or_ps(_mm_and_ps(b_nan_only, b), _mm_andnot_ps(b_nan_only, _mm_max_ps(b, a)));
}

// Four 2×2 windows whose 8 + 8 inputs start at r0 and r1. Combining
// (top-left, top-right), (bottom-left, bottom-right), then the two halves
// picks the same element as the scan order: ties and NaNs keep the earlier.
__m128 max_of_four_windows(const float* r0, const float* r1) {
  const __m128 a0 = _mm_loadu_ps(r0), a1 = _mm_loadu_ps(r0 + 4);
  const __m128 b0 = _mm_loadu_ps(r1), b1 = _mm_loadu_ps(r1 + 4);
  const __m128 top = first_max(_mm_shuffle_ps(a0, a1, _MM_SHUFFLE(2, 0, 2, 0)),
                               _mm_shuffle_ps(a0, a1, _MM_SHUFFLE(3, 1, 3, 1)));
  const __m128 bottom = first_max(_mm_shuffle_ps(b0, b1, _MM_SHUFFLE(2, 0, 2, 0)),
                                  _mm_shuffle_ps(b0, b1, _MM_SHUFFLE(3, 1, 3, 1)));
  return first_max(top, bottom);
}

// One plane of a 2×2, stride-2, unpadded float max pool without arg-max (the
// inference pass), four windows at a time. A row's last one to three windows
// read on past the row, into the next row or plane, whose values fill lanes
// that are thrown away; only where that would pass x_end (the end of the
// whole input) are the inputs first copied into a zero-padded buffer.
// 64×32×26×26 and 64×64×11×11 on one thread: 1.48 and 0.96 ms through
// max_pool_row, 0.70 and 0.34 ms this way (BM_max_pool_forward_values).
void max_pool_2x2_plane_values(const Pool2dShape& s, const float* xp, float* yp, const float* x_end) {
  const int oh = s.out_h(), ow = s.out_w();
  for (int oy = 0; oy < oh; ++oy) {
    const float* r0 = xp + idx(2 * oy) * s.w;
    const float* r1 = r0 + s.w;
    float* y = yp + idx(oy) * ow;
    int ox = 0;
    for (; ox + 4 <= ow; ox += 4) _mm_storeu_ps(y + ox, max_of_four_windows(r0 + 2 * ox, r1 + 2 * ox));
    if (ox == ow) continue;
    float out[4];
    if (r1 + 2 * ox + 8 <= x_end) {
      _mm_storeu_ps(out, max_of_four_windows(r0 + 2 * ox, r1 + 2 * ox));
    } else {
      const int inputs = 2 * (ow - ox);
      float t0[8] = {}, t1[8] = {};
      std::copy(r0 + 2 * ox, r0 + 2 * ox + inputs, t0);
      std::copy(r1 + 2 * ox, r1 + 2 * ox + inputs, t1);
      _mm_storeu_ps(out, max_of_four_windows(t0, t1));
    }
    std::copy(out, out + (ow - ox), y + ox);
  }
}
#endif

// Writes row oy of one plane; the 2×2, stride-2, unpadded float case with
// arg-max goes four windows at a time where SSE2 is available (without
// arg-max, max_pool_plane takes the value-only path).
template <typename T>
void max_pool_row(const Pool2dShape& s, const T* xp, int oy, int ow, T* y, int32_t* argmax) {
  int ox = 0;
#if defined(__SSE2__)
  if constexpr (std::is_same_v<T, float>) {
    if (argmax && is_2x2_stride_2(s)) ox = max_pool_2x2_row(s, xp, oy, ow, y, argmax);
  }
#endif
  for (; ox < ow; ++ox) max_window(s, xp, oy, ox, y + ox, argmax ? argmax + ox : nullptr);
}

// One whole plane; x_end is the end of the whole input.
template <typename T>
void max_pool_plane(const Pool2dShape& s, const T* xp, T* yp, int32_t* argmax, const T* x_end) {
#if defined(__SSE2__)
  if constexpr (std::is_same_v<T, float>) {
    if (argmax == nullptr && is_2x2_stride_2(s)) return max_pool_2x2_plane_values(s, xp, yp, x_end);
  }
#endif
  const int oh = s.out_h(), ow = s.out_w();
  for (int oy = 0; oy < oh; ++oy)
    max_pool_row(s, xp, oy, ow, yp + idx(oy) * ow, argmax ? argmax + idx(oy) * ow : nullptr);
}

}  // namespace

template <typename T>
void max_pool2d_forward(const Pool2dShape& s, const T* x, T* y, int32_t* argmax) {
  constexpr const char* op = "max_pool2d_forward";
  validate_pool2d_shape(s, op);
  require_pointer(x, op, "x");
  require_pointer(y, op, "y");
  const int oh = s.out_h(), ow = s.out_w();
  const idx planes = idx(s.n) * s.c, in_plane = idx(s.h) * s.w, out_plane = idx(oh) * ow;
#pragma omp parallel for schedule(static) if (worth_parallel(s))
  for (idx pl = 0; pl < planes; ++pl)
    max_pool_plane(s, x + pl * in_plane, y + pl * out_plane, argmax ? argmax + pl * out_plane : nullptr,
                   x + planes * in_plane);
}

template <typename T>
void max_pool2d_backward(const Pool2dShape& s, const T* dy, const int32_t* argmax, T* dx) {
  constexpr const char* op = "max_pool2d_backward";
  validate_pool2d_shape(s, op);
  require_pointer(dy, op, "dy");
  require_pointer(argmax, op, "argmax");
  require_pointer(dx, op, "dx");
  const idx planes = idx(s.n) * s.c, in_plane = idx(s.h) * s.w;
  const idx out_plane = idx(s.out_h()) * s.out_w();
  bool bad_index = false;
#pragma omp parallel for schedule(static) reduction(|| : bad_index) if (worth_parallel(s))
  for (idx pl = 0; pl < planes; ++pl) {
    T* dxp = dx + pl * in_plane;
    const T* dyp = dy + pl * out_plane;
    const int32_t* ap = argmax + pl * out_plane;
    std::fill(dxp, dxp + in_plane, T(0));
    for (idx o = 0; o < out_plane; ++o) {
      if (ap[o] < 0 || ap[o] >= in_plane) {
        bad_index = true;
        continue;
      }
      dxp[ap[o]] += dyp[o];
    }
  }
  if (bad_index)
    throw std::invalid_argument(std::string(op) + ": argmax holds an index outside the " +
                                std::to_string(in_plane) + "-element input plane (" +
                                shape_text(s) + ")");
}

template <typename T>
void avg_pool2d_forward(const Pool2dShape& s, const T* x, T* y) {
  constexpr const char* op = "avg_pool2d_forward";
  validate_pool2d_shape(s, op);
  require_pointer(x, op, "x");
  require_pointer(y, op, "y");
  const int oh = s.out_h(), ow = s.out_w();
  const idx planes = idx(s.n) * s.c, in_plane = idx(s.h) * s.w, out_plane = idx(oh) * ow;
  const T inv_area = T(1) / T(s.kh * s.kw);
#pragma omp parallel for schedule(static) if (worth_parallel(s))
  for (idx pl = 0; pl < planes; ++pl) {
    const T* xp = x + pl * in_plane;
    T* yp = y + pl * out_plane;
    for (int oy = 0; oy < oh; ++oy)
      for (int ox = 0; ox < ow; ++ox) {
        const Window win = window(s, oy, ox);
        T sum = 0;
        for (int iy = win.y0; iy < win.y1; ++iy)
          for (int ix = win.x0; ix < win.x1; ++ix) sum += xp[idx(iy) * s.w + ix];
        yp[idx(oy) * ow + ox] = sum * inv_area;
      }
  }
}

template <typename T>
void avg_pool2d_backward(const Pool2dShape& s, const T* dy, T* dx) {
  constexpr const char* op = "avg_pool2d_backward";
  validate_pool2d_shape(s, op);
  require_pointer(dy, op, "dy");
  require_pointer(dx, op, "dx");
  const int oh = s.out_h(), ow = s.out_w();
  const idx planes = idx(s.n) * s.c, in_plane = idx(s.h) * s.w, out_plane = idx(oh) * ow;
  const T inv_area = T(1) / T(s.kh * s.kw);
#pragma omp parallel for schedule(static) if (worth_parallel(s))
  for (idx pl = 0; pl < planes; ++pl) {
    T* dxp = dx + pl * in_plane;
    const T* dyp = dy + pl * out_plane;
    std::fill(dxp, dxp + in_plane, T(0));
    for (int oy = 0; oy < oh; ++oy)
      for (int ox = 0; ox < ow; ++ox) {
        const Window win = window(s, oy, ox);
        const T g = dyp[idx(oy) * ow + ox] * inv_area;
        for (int iy = win.y0; iy < win.y1; ++iy)
          for (int ix = win.x0; ix < win.x1; ++ix) dxp[idx(iy) * s.w + ix] += g;
      }
  }
}

template void max_pool2d_forward<float>(const Pool2dShape&, const float*, float*, int32_t*);
template void max_pool2d_forward<double>(const Pool2dShape&, const double*, double*, int32_t*);
template void max_pool2d_backward<float>(const Pool2dShape&, const float*, const int32_t*, float*);
template void max_pool2d_backward<double>(const Pool2dShape&, const double*, const int32_t*,
                                          double*);
template void avg_pool2d_forward<float>(const Pool2dShape&, const float*, float*);
template void avg_pool2d_forward<double>(const Pool2dShape&, const double*, double*);
template void avg_pool2d_backward<float>(const Pool2dShape&, const float*, float*);
template void avg_pool2d_backward<double>(const Pool2dShape&, const double*, double*);

}  // namespace gc::cpu
