// The steps around the int8 GEMM (docs/QUANTIZATION.md): unfolding u8 images
// for convolution, and requantization of the int32 sums back to u8, fused
// with bias, ReLU and 2×2 max pooling, or dequantization to float logits.
//
// Requantization of one sum, output channel j:
//   v = float(acc + bias[j]) · scale[j]        (float multiply, rounded once)
//   q = clamp(round_half_even(v) + zero_point, lo, 255)
// with lo = zero_point under ReLU (the real 0) and 0 otherwise. bias[j] is
// the int32 bias with the input zero-point term already folded in
// (bias − z_in · Σ_p W[j][p]); scale[j] = s_in · s_w[j] / s_out > 0.
// v is clamped to ±512 before rounding, which changes no result (q is
// clamped to [0, 255] and zero_point ∈ [0, 255]) but keeps the conversion to
// int32 defined. The AVX2 path does the same float operations in the same
// order, so it equals the scalar path exactly.
//
// Max pooling commutes with requantization (which is non-decreasing in acc
// when scale > 0), so the fused kernel pools the int32 sums first and
// requantizes a quarter as many.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/cpu/int8_gemm.h"

namespace gc::cpu {

struct Requantization {
  const int32_t* bias = nullptr;  // n
  const float* scale = nullptr;   // n
  int32_t zero_point = 0;
  bool relu = false;
};

// acc: rows × n (row stride ld_acc) → out: rows × n bytes (row stride ld_out).
void requantize(Int8Path path, const int32_t* acc, int rows, int n, std::ptrdiff_t ld_acc,
                const Requantization& rq, uint8_t* out, std::ptrdiff_t ld_out);

// acc: an h × w × n image (channels last, rows of w·n) → out: ⌊h/2⌋ × ⌊w/2⌋ × n,
// each output the requantized max of a 2×2 window (stride 2, PyTorch's floor).
void requantize_maxpool2x2(Int8Path path, const int32_t* acc, int h, int w, int n, const Requantization& rq,
                           uint8_t* out);

// Float output: out[i][j] = float(acc[i][j] + bias[j]) · scale[j], with
// scale[j] = s_in · s_w[j] (the last layer's logits).
void dequantize(const int32_t* acc, int rows, int n, std::ptrdiff_t ld_acc, const int32_t* bias,
                const float* scale, float* out, std::ptrdiff_t ld_out);

// Unfolds a u8 image x (h × w × c, channels last) for a k × k convolution:
// row oy·ow + ox of col (row stride ld ≥ k·k·c) holds, for ky, kx, ci in that
// order, x[oy·stride − pad + ky][ox·stride − pad + kx][ci], or pad_value (the
// input's zero point: real 0) outside the image. Bytes past k·k·c are not
// written. oh = (h + 2·pad − k) / stride + 1, likewise ow.
void im2col_u8(const uint8_t* x, int h, int w, int c, int k, int stride, int pad, uint8_t pad_value,
               uint8_t* col, std::ptrdiff_t ld);

namespace int8_detail {
// One sum of channel j, the formula above (the scalar path, and the AVX2
// path's last channels).
uint8_t requantize_one(int32_t acc, int j, const Requantization& rq);
// The AVX2 bodies (int8_requant_avx2.cpp).
void requantize_avx2(const int32_t* acc, int rows, int n, std::ptrdiff_t ld_acc, const Requantization& rq,
                     uint8_t* out, std::ptrdiff_t ld_out);
void requantize_maxpool2x2_avx2(const int32_t* acc, int h, int w, int n, const Requantization& rq,
                                uint8_t* out);
}  // namespace int8_detail

}  // namespace gc::cpu
