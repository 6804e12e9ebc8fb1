// 3×3 convolution by Winograd's minimal filtering F(m×m, 3×3) (Lavin & Gray,
// "Fast Algorithms for Convolutional Neural Networks", CVPR 2016), m = 2, 4,
// or 3 and 6 (forward only):
// same contract and layouts as conv2d.h, for stride 1 and dilation 1 (any
// padding).
//
// The output is cut into m×m tiles; tile t reads an α×α input patch d
// (α = m + 2) and
//   Y_t = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
// computes its m² outputs with α² multiplications instead of 9m² (the
// matrices: winograd_tiles.h). Summed over input channels, the α² points ξ
// of the transform domain become α² independent GEMMs:
//   forward      M_ξ  = U_ξ · V_ξ     U = G g Gᵀ [c_out×c_in], V = Bᵀ d B [c_in×tiles]
//   grad-input   dV_ξ = U_ξᵀ · dM_ξ   dM = A dY Aᵀ, then dx += B dV Bᵀ (patches overlap: added)
//   grad-weight  dU_ξ = dM_ξ · V_ξᵀ   then dW = Gᵀ dU G
// The two backward passes are the exact adjoints of the forward computation
// (each transform replaced by its transpose), so they are its exact gradient.
// Work: α²/(9m²) of the direct method's multiply-adds per tile (16/36 for
// F(2×2), 36/144 for F(4×4)), but the tile grid rounds the output up (11×11
// becomes 12×12; the pooled pass instead narrows its edge tiles), and the
// transforms add a few dozen operations per tile.
//
// Rounding: the transforms only add, subtract and scale by small constants,
// so results agree with the direct sum to float rounding of the tile's
// values; F(4×4)'s larger coefficients (up to 8) round more loosely than
// F(2×2)'s, F(6×6)'s (up to 32) more loosely still; F(3×3)'s (up to 4) round
// about as tightly as F(2×2)'s (tests/kernels/test_conv2d_winograd.cpp
// bounds each).
//
// Threads: images in groups of 8 (floats; 4 doubles) share SIMD lanes. The
// forward pass hands blocks of groups to whichever thread is free (an
// output does not depend on which thread computed it); the backward passes
// give each thread a contiguous range of groups and sum grad-weight
// partials in thread order: bitwise reproducible for a fixed thread count.
#pragma once

#include "kernels/cpu/conv2d.h"

namespace gc::cpu {

// 3×3 kernel, stride 1, dilation 1 (the shape must also be valid:
// validate_conv2d_shape).
bool winograd_supports(const Conv2dShape& s);

// The output tile: F(2×2, 3×3), F(4×4, 3×3), or the forward-only F(3×3, 3×3)
// and F(6×6, 3×3) (no backward passes; F(6×6) rounds about 2.5× more loosely
// than F(4×4), and F(3×3), having odd tiles, cannot pool).
enum class WinogradTile { f2x2, f4x4, f6x6, f3x3 };

// The tile of F(2×2) and F(4×4) with less transform-domain work (tiles × α²)
// for this output size: F(4×4) for 11×11 (324 vs 576) and 3×3 (36 vs 64),
// F(2×2) for 2×2. conv2d_forward and the backward passes take it, so
// training's forward and backward passes use the same tile.
WinogradTile winograd_tile_for(const Conv2dShape& s);
// The tile of F(2×2), F(3×3) and F(4×4) with the least transform-domain work,
// for inference's unfused forward pass (conv2d_inference_forward): F(3×3)
// for 3×3 (25 vs 36 for F(4×4)), F(4×4) for 11×11 (324 vs 400).
WinogradTile winograd_inference_tile_for(const Conv2dShape& s);
// The tile of F(2×2), F(4×4) and F(6×6) with the least transform-domain
// work for the fused inference pass (winograd_conv2d_pool_relu_forward's
// tiling; ties go to the smaller tile): F(6×6) for 11×11 (196 vs 256 for
// F(4×4)).
WinogradTile winograd_pooled_tile_for(const Conv2dShape& s);

// Output tiles of the whole batch (n · ⌈out_h/m⌉ · ⌈out_w/m⌉) for `tile`.
long long winograd_tiles(const Conv2dShape& s, WinogradTile tile);

// Same results as conv2d_forward / _backward_input / _backward_weight (to
// rounding); throw std::invalid_argument for null pointers or a shape
// winograd_supports rejects.
template <typename T>
void winograd_conv2d_forward(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y,
                             WinogradTile tile);
// Both gradients in one sweep over dy (dx or dw may be null; not both):
// the same values as the two calls below.
// The forward pass with its output max-pooled over 2×2 windows (stride 2,
// floor mode) and rectified, in the output transform:
// y = n × c_out × ⌊out_h/2⌋ × ⌊out_w/2⌋ (conv2d_pool.h). Needs an output of
// at least 2×2. It computes only the 2⌊out/2⌋ outputs the windows read,
// along each axis in tiles of `tile`'s m and, where m does not divide that,
// one narrower tile of the rest (2 or 4) at the end: 11×11 with F(6×6) is
// one 6×6, one 6×4, one 4×6 and one 4×4 tile per image, 196 transform
// points where four 6×6 tiles had 256.
template <typename T>
void winograd_conv2d_pool_relu_forward(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y,
                                       WinogradTile tile);
template <typename T>
void winograd_conv2d_backward(const Conv2dShape& s, const T* x, const T* dy, const T* w, T* dx,
                              T* dw, WinogradTile tile);
template <typename T>
void winograd_conv2d_backward_input(const Conv2dShape& s, const T* dy, const T* w, T* dx,
                                    WinogradTile tile);
template <typename T>
void winograd_conv2d_backward_weight(const Conv2dShape& s, const T* x, const T* dy, T* dw,
                                     WinogradTile tile);

}  // namespace gc::cpu
