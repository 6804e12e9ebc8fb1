#include "kernels/cpu/im2col.h"

#include <algorithm>
#include <type_traits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace gc::cpu {
namespace {

using idx = std::ptrdiff_t;

// Output positions o in [lo, hi) whose input index o·stride + offset lies in
// [0, size); outside that span the kernel tap reads padding.
struct Span {
  int lo, hi;
};

Span valid_span(int out, int size, int stride, int offset) {
  // o·stride + offset ≥ 0  ⇔  o ≥ ceil(−offset / stride)
  int lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  // o·stride + offset ≤ size − 1  ⇔  o ≤ floor((size − 1 − offset) / stride)
  int last = size - 1 - offset;
  int hi = last < 0 ? 0 : last / stride + 1;
  hi = std::min(hi, out);
  lo = std::min(lo, hi);
  return {lo, hi};
}

// d[0, n) = src[0, n), inline: unfold rows are short (3 to 28 elements at the
// seed CNN's shapes), where a memcpy call per row costs more than the copy.
// Floats go four at a time with SSE2, the last four overlapping when n is not
// a multiple of 4 (im2col probe, one thread: 5×5 images about 25% faster
// than with memcpy, 13×13 about 10%).
template <typename T>
void copy_row(T* d, const T* src, int n) {
#if defined(__SSE2__)
  if constexpr (std::is_same_v<T, float>) {
    if (n >= 4) {
      for (int i = 0; i + 4 <= n; i += 4) _mm_storeu_ps(d + i, _mm_loadu_ps(src + i));
      _mm_storeu_ps(d + n - 4, _mm_loadu_ps(src + n - 4));
      return;
    }
  }
#endif
  for (int i = 0; i < n; ++i) d[i] = src[i];
}

// Output rows [row_begin, row_end) of `count` images; image img's rows take
// columns img·rows·ow + (oy − row_begin)·ow + ox, rows = row_end − row_begin.
// Both this and col2im run kernel taps (ki, kj) outermost, each tap's valid
// spans computed once. Measured (single-thread probe, 3×3 outputs): col2im
// about 1.5x faster than with channels outermost, whether or not those spans
// were precomputed; im2col the same either way.
template <typename T>
void unfold_rows(const Conv2dShape& s, const T* x, int count, int row_begin, int row_end, T* col, idx ld) {
  const int ow = s.out_w();
  const idx plane = idx(s.h) * s.w, image_columns = idx(row_end - row_begin) * ow;
  for (int ki = 0; ki < s.kh; ++ki) {
    const int row_offset = ki * s.dil_h - s.pad_h;
    const Span all_rows = valid_span(s.out_h(), s.h, s.stride_h, row_offset);
    const int lo = std::clamp(all_rows.lo, row_begin, row_end), hi = std::clamp(all_rows.hi, lo, row_end);
    for (int kj = 0; kj < s.kw; ++kj) {
      const int col_offset = kj * s.dil_w - s.pad_w;
      const Span cols = valid_span(ow, s.w, s.stride_w, col_offset);
      for (int img = 0; img < count; ++img)
        for (int ci = 0; ci < s.c_in; ++ci) {
          const T* xc = x + (idx(img) * s.c_in + ci) * plane;
          const idx row = (idx(ci) * s.kh + ki) * s.kw + kj;
          T* dst = col + row * ld + img * image_columns;
          std::fill(dst, dst + idx(lo - row_begin) * ow, T(0));
          for (int oy = lo; oy < hi; ++oy) {
            const T* src = xc + idx(oy * s.stride_h + row_offset) * s.w + col_offset;
            T* d = dst + idx(oy - row_begin) * ow;
            std::fill(d, d + cols.lo, T(0));
            if (s.stride_w == 1) {
              copy_row(d + cols.lo, src + cols.lo, cols.hi - cols.lo);
            } else {
              for (int ox = cols.lo; ox < cols.hi; ++ox) d[ox] = src[idx(ox) * s.stride_w];
            }
            std::fill(d + cols.hi, d + ow, T(0));
          }
          std::fill(dst + idx(hi - row_begin) * ow, dst + image_columns, T(0));
        }
    }
  }
}

}  // namespace

template <typename T>
void im2col(const Conv2dShape& s, const T* x, int count, T* col, idx ld) {
  unfold_rows(s, x, count, 0, s.out_h(), col, ld);
}

template <typename T>
void im2col_rows(const Conv2dShape& s, const T* x, int row_begin, int row_end, T* col, idx ld) {
  unfold_rows(s, x, 1, row_begin, row_end, col, ld);
}

template <typename T>
void col2im(const Conv2dShape& s, const T* col, idx ld, int count, T* dx) {
  const int oh = s.out_h(), ow = s.out_w();
  const idx plane = idx(s.h) * s.w, ohw = idx(oh) * ow;
  std::fill(dx, dx + idx(count) * s.c_in * plane, T(0));
  for (int ki = 0; ki < s.kh; ++ki) {
    const int row_offset = ki * s.dil_h - s.pad_h;
    const Span rows = valid_span(oh, s.h, s.stride_h, row_offset);
    for (int kj = 0; kj < s.kw; ++kj) {
      const int col_offset = kj * s.dil_w - s.pad_w;
      const Span cols = valid_span(ow, s.w, s.stride_w, col_offset);
      for (int img = 0; img < count; ++img)
        for (int ci = 0; ci < s.c_in; ++ci) {
          T* xc = dx + (idx(img) * s.c_in + ci) * plane;
          const idx row = (idx(ci) * s.kh + ki) * s.kw + kj;
          const T* src = col + row * ld + img * ohw;
          for (int oy = rows.lo; oy < rows.hi; ++oy) {
            T* d = xc + idx(oy * s.stride_h + row_offset) * s.w + col_offset;
            const T* c = src + idx(oy) * ow;
            if (s.stride_w == 1) {
              for (int ox = cols.lo; ox < cols.hi; ++ox) d[ox] += c[ox];
            } else {
              for (int ox = cols.lo; ox < cols.hi; ++ox) d[idx(ox) * s.stride_w] += c[ox];
            }
          }
        }
    }
  }
}

template void im2col<float>(const Conv2dShape&, const float*, int, float*, idx);
template void im2col<double>(const Conv2dShape&, const double*, int, double*, idx);
template void im2col_rows<float>(const Conv2dShape&, const float*, int, int, float*, idx);
template void im2col_rows<double>(const Conv2dShape&, const double*, int, int, double*, idx);
template void col2im<float>(const Conv2dShape&, const float*, idx, int, float*);
template void col2im<double>(const Conv2dShape&, const double*, idx, int, double*);

}  // namespace gc::cpu
