#include "kernels/cpu/pool2d.h"

#include <algorithm>
#include <climits>
#include <cstddef>
#include <stdexcept>
#include <string>

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

template <typename T>
void max_pool2d_forward(const Pool2dShape& s, const T* x, T* y, int32_t* argmax) {
  constexpr const char* op = "max_pool2d_forward";
  validate_pool2d_shape(s, op);
  require_pointer(x, op, "x");
  require_pointer(y, op, "y");
  require_pointer(argmax, op, "argmax");
  const int oh = s.out_h(), ow = s.out_w();
  const idx planes = idx(s.n) * s.c, in_plane = idx(s.h) * s.w, out_plane = idx(oh) * ow;
#pragma omp parallel for schedule(static) if (worth_parallel(s))
  for (idx pl = 0; pl < planes; ++pl) {
    const T* xp = x + pl * in_plane;
    T* yp = y + pl * out_plane;
    int32_t* ap = argmax + pl * out_plane;
    for (int oy = 0; oy < oh; ++oy)
      for (int ox = 0; ox < ow; ++ox) {
        const Window win = window(s, oy, ox);
        int32_t best_at = win.y0 * s.w + win.x0;
        T best = xp[best_at];
        for (int iy = win.y0; iy < win.y1; ++iy)
          for (int ix = win.x0; ix < win.x1; ++ix) {
            const int32_t at = iy * s.w + ix;
            const T v = xp[at];
            // Strictly greater keeps the first maximum; the first NaN wins
            // and then stays (v > NaN is false).
            if (v > best || (v != v && best == best)) {
              best = v;
              best_at = at;
            }
          }
        yp[idx(oy) * ow + ox] = best;
        ap[idx(oy) * ow + ox] = best_at;
      }
  }
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
