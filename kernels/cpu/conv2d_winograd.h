// 3×3 convolution by Winograd's minimal filtering F(2×2, 3×3) (Lavin & Gray,
// "Fast Algorithms for Convolutional Neural Networks", CVPR 2016): same
// contract and layouts as conv2d.h, for stride 1 and dilation 1 (any padding).
//
// The output is cut into 2×2 tiles; tile t reads a 4×4 input patch d and
//   Y_t = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
// computes its 4 outputs with 16 multiplications instead of 36. Summed over
// input channels, the 16 points ξ of the 4×4 transform domain become 16
// independent GEMMs:
//   forward      M_ξ  = U_ξ · V_ξ     U = G g Gᵀ [c_out×c_in], V = Bᵀ d B [c_in×tiles]
//   grad-input   dV_ξ = U_ξᵀ · dM_ξ   dM = A dY Aᵀ, then dx += B dV Bᵀ (tiles overlap: added)
//   grad-weight  dU_ξ = dM_ξ · V_ξᵀ   then dW = Gᵀ dU G
// The two backward passes are the exact adjoints of the forward computation
// (each transform replaced by its transpose), so they are its exact gradient.
// Work: 16/36 of the direct method's multiply-adds per tile, but the tile
// grid rounds odd outputs up (11×11 becomes 12×12), and the transforms add
// about a dozen additions per input and output value.
//
// Rounding: the transforms only add, subtract and halve, so results agree with
// the direct sum to a few float ulps of Σ|terms| (tests/kernels).
//
// Threads and scratch as in conv2d.cpp: contiguous image chunks per thread,
// grad-weight partials summed in thread order; bitwise reproducible for a
// fixed thread count.
#pragma once

#include "kernels/cpu/conv2d.h"

namespace gc::cpu {

// 3×3 kernel, stride 1, dilation 1 and a valid shape (validate_conv2d_shape).
bool winograd_supports(const Conv2dShape& s);

// Same results as conv2d_forward / _backward_input / _backward_weight (to
// rounding); throw std::invalid_argument for null pointers or a shape
// winograd_supports rejects.
template <typename T>
void winograd_conv2d_forward(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y);
template <typename T>
void winograd_conv2d_backward_input(const Conv2dShape& s, const T* dy, const T* w, T* dx);
template <typename T>
void winograd_conv2d_backward_weight(const Conv2dShape& s, const T* x, const T* dy, T* dw);

}  // namespace gc::cpu
