// A first layer's convolution, max pool and ReLU in one pass, for inference:
//
//   y[n][co][py][px] = max(0, max_{r,c ∈ {0,1}} conv(x, w)[n][co][2py + r][2px + c] + bias[co])
//
// for a 3×3, stride-1, unpadded convolution with few input channels, a 2×2
// stride-2 max pool (floor mode) and a ReLU (which commutes with the max).
// The convolution's output never reaches memory: on the seed CNN it is four
// times the size of what the layer passes on, and writing it, reading it back
// to pool and again to rectify cost more than the arithmetic. No gradients:
// the training path runs the three ops separately and keeps what backward
// needs.
//
// Adding the bias after the max gives the same value as before it: rounding
// is monotonic, so fl(a + b) ≥ fl(c + b) whenever a ≥ c. NaN inputs give
// NaN or 0 outputs; which is not specified.
#pragma once

#include "kernels/cpu/conv2d.h"

namespace gc::cpu {

// Input channels up to this: beyond, the layer's arithmetic outweighs its
// output traffic and Winograd or im2col + GEMM are faster.
constexpr int kConvPoolMaxInputChannels = 4;

// 3×3 kernel, stride 1, dilation 1, no padding, c_in ≤ kConvPoolMaxInputChannels
// and a convolution output of at least 2×2.
bool conv2d_pool_relu_supports(const Conv2dShape& s);

// y: n × c_out × ⌊out_h/2⌋ × ⌊out_w/2⌋. bias may be null. Throws
// std::invalid_argument naming the problem for an unsupported shape or a
// null pointer.
template <typename T>
void conv2d_pool_relu_forward(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y);

namespace conv_pool_detail {

// Per-ISA float kernels for images [first, last), behind the driver's
// checks. rows: scratch for c_in × 4 input rows of row_floats(s) floats.
int row_floats(const Conv2dShape& s);
void forward_avx2(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y,
                  int first, int last, float* rows);

}  // namespace conv_pool_detail
}  // namespace gc::cpu
