// 2-D max and average pooling on the CPU, NCHW.
//   x [n, c, h, w] → y [n, c, out_h, out_w], window kh×kw at
//   (oy·stride_h − pad_h, ox·stride_w − pad_w); padding is never read.
// Planes (one image, one channel) are split across OpenMP threads; every
// plane is computed by one thread in a fixed order, so results are bitwise
// reproducible whatever the thread count.
// Invalid shapes or null pointers throw std::invalid_argument naming the op
// and the offending values.
#pragma once

#include <cstdint>

namespace gc::cpu {

struct Pool2dShape {
  int n, c, h, w, kh, kw, stride_h, stride_w;
  int pad_h = 0, pad_w = 0;

  // floor((h + 2·pad − k) / stride) + 1 (PyTorch's floor mode); 0 when the
  // window does not fit or the stride is not positive.
  int out_h() const;
  int out_w() const;
};

// Throws std::invalid_argument (message starts with `op`) unless every size
// and stride is ≥ 1, 0 ≤ pad < kernel and the output is at least 1×1.
void validate_pool2d_shape(const Pool2dShape& s, const char* op);

// y = window maximum; argmax[i] = index of that maximum within its h·w input
// plane. Ties go to the first maximum in row-major scan order; a NaN in the
// window wins (it propagates, as in PyTorch). Since pad < kernel every window
// holds at least one real element, and padding never wins. argmax may be null
// (inference: only y is written).
template <typename T>
void max_pool2d_forward(const Pool2dShape& s, const T* x, T* y, int32_t* argmax);

// dx[argmax] += dy per window (overlapping windows accumulate). Overwrites dx.
// An argmax outside its plane throws std::invalid_argument.
template <typename T>
void max_pool2d_backward(const Pool2dShape& s, const T* dy, const int32_t* argmax, T* dx);

// y = (sum of the window's real elements) / (kh·kw): padding counts as zeros
// in the divisor, like PyTorch's default count_include_pad=True.
template <typename T>
void avg_pool2d_forward(const Pool2dShape& s, const T* x, T* y);

// dx[p] = Σ over windows covering p of dy / (kh·kw). Overwrites dx.
template <typename T>
void avg_pool2d_backward(const Pool2dShape& s, const T* dy, T* dx);

}  // namespace gc::cpu
