// A convolution, its 2×2 stride-2 max pool (floor mode) and a ReLU in one
// call, for inference:
//
//   y[n][co][py][px] = max(0, max_{r,c ∈ {0,1}} conv(x, w)[n][co][2py + r][2px + c] + bias[co])
//
// (the ReLU commutes with the max). The convolution's full output is what
// the pool throws three quarters of away; where a fused path exists it never
// reaches memory:
//   - a 3×3, stride-1, unpadded convolution with at most
//     kConvPoolMaxInputChannels input channels (a first layer) runs a direct
//     kernel that pools the sums in registers;
//   - where conv2d_forward would take Winograd, Winograd pools and rectifies
//     in its output transform (winograd_conv2d_pool_relu_forward), with the
//     tile of least work among all three, F(6×6) included
//     (winograd_pooled_tile_for: seed CNN layer 1, 2 threads, F(4×4) against
//     F(6×6): batch 64 2.04–2.21 vs 1.72–2.10 ms, batch 128 4.00–4.22 vs
//     3.94–4.11 ms; unfused, F(6×6) is the slower, its larger output tiles
//     costing more than its GEMMs save), and only over the outputs the pool
//     reads, narrower tiles at the edges (layer 1 with F(6×6), batch 64:
//     1.68–1.79 → 1.33–1.51 ms; batch 128: 4.27–5.30 → 3.46–4.00 ms);
//   - any other convolution runs conv2d_forward, max_pool2d_forward and
//     relu_forward in turn.
// No gradients: the training path runs the three ops separately and keeps
// what backward needs.
//
// Adding the bias after the max gives the same value as before it: rounding
// is monotonic, so fl(a + b) ≥ fl(c + b) whenever a ≥ c. NaN inputs give
// NaN or 0 outputs; which is not specified.
#pragma once

#include "kernels/cpu/conv2d.h"

namespace gc::cpu {

// Input channels up to this take the direct kernel: beyond, the layer's
// arithmetic outweighs its output traffic and Winograd or im2col + GEMM are
// faster.
constexpr int kConvPoolMaxInputChannels = 4;

// A valid convolution shape with an output of at least 2×2.
bool conv2d_pool_relu_supports(const Conv2dShape& s);
// Whether the direct first-layer kernel takes s (3×3, stride 1, unpadded,
// undilated, at most kConvPoolMaxInputChannels input channels).
bool conv2d_pool_relu_direct(const Conv2dShape& s);

// y: n × c_out × ⌊out_h/2⌋ × ⌊out_w/2⌋. bias may be null. Throws
// std::invalid_argument naming the problem for an invalid shape, an output
// smaller than 2×2 or a null pointer.
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
