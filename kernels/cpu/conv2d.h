// 2-D convolution on the CPU (cross-correlation, as in PyTorch), NCHW.
//   x [n, c_in, h, w], weight [c_out, c_in, kh, kw], bias [c_out],
//   y [n, c_out, out_h, out_w]
//   y[i][co][oy][ox] = bias[co] + Σ_{ci,ki,kj} w[co][ci][ki][kj] ·
//                      x[i][ci][oy·stride_h − pad_h + ki·dil_h][ox·stride_w − pad_w + kj·dil_w]
// with x read as 0 outside the image (zero padding).
//
// Method: 3×3, stride-1 layers with at least 8 input and output channels go
// to Winograd's minimal filtering (conv2d_winograd.h: about 2× faster at the
// seed CNN's second layer, bench/RESULTS.md); every other shape, and the
// first layer (1 input channel), runs as below. set_conv_algo overrides the
// choice.
//
// im2col + our GEMM (kernels/cpu/gemm.h). A block of g images is
// unfolded into col[c_in·kh·kw][g·out_h·out_w] (im2col.h); then
//   forward      Y   = W · col                (M = c_out,        N = g·oh·ow, K = c_in·kh·kw)
//   grad-input   dcol = Wᵀ · dY, then col2im  (M = c_in·kh·kw,   N = g·oh·ow, K = c_out)
//   grad-weight  dW  += dY · colᵀ             (M = c_out,        N = c_in·kh·kw, K = g·oh·ow)
// Why not a direct convolution: all the FLOPs then run in the one register-
// blocked, AVX-512/AVX2-dispatched SGEMM micro-kernel the project already
// tunes, instead of a second set of SIMD kernels per ISA (and a direct loop over
// NCHW would vectorise along rows only 3 to 26 outputs wide here).
// Measured at the seed CNN's shapes (batch 128, one thread, CPU time on the
// busy 2-core dev machine; bench/kernels/bench_conv2d.cpp): our SGEMM runs
// these GEMMs at 77-95 GFLOP/s, as fast as on 512³ and within 0.85-1.0x of
// OpenBLAS on the same shapes; perf puts the GEMM at about two thirds of the
// training step and the unfold work (im2col, col2im, block copies) at about
// a fifth. The whole step (3 layers, fwd + bwd) took 37-39 ms, oneDNN on the
// same plain NCHW/OIHW memory 45-47 ms, PyTorch 1.13 (its oneDNN path)
// 31 ms. The remaining gap is mostly GEMM speed.
// A first layer (1 input channel, kdim = 9) is the weak case: K = 9 GEMMs.
// Grouping g > 1 images per GEMM keeps N large when out_h·out_w is small
// (5×5 → 3×3 would otherwise be a GEMM with N = 9).
//
// Threads: images are split into one contiguous chunk per OpenMP thread (each
// thread's GEMMs then run single-threaded: nested parallelism is off); with
// fewer images than threads the images run in turn and the GEMM itself uses
// the threads. Grad-weight is accumulated per thread and the partial sums are
// added in thread order, so every result is bitwise reproducible for a fixed
// thread count. Scratch (columns, gathered blocks, partial sums) lives in
// per-thread buffers that grow to the largest call and are reused after.
//
// Invalid shapes or null pointers throw std::invalid_argument naming the op
// and the offending values.
#pragma once

#include <string>

namespace gc::cpu {

struct Conv2dShape {
  int n, c_in, h, w, c_out, kh, kw;
  int stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1;

  // floor((h + 2·pad − dil·(k − 1) − 1) / stride) + 1, PyTorch's floor mode;
  // 0 when the (dilated) kernel does not fit or the stride is not positive.
  int out_h() const;
  int out_w() const;
};

// Throws std::invalid_argument (message starts with `op`) unless every size is
// ≥ 1, strides and dilations ≥ 1, paddings ≥ 0, the output is at least 1×1
// and the unfolded sizes fit in int.
void validate_conv2d_shape(const Conv2dShape& s, const char* op);

// bias may be null (no bias). y is overwritten.
// Whether conv2d_forward (ConvPass::forward) or the backward passes take
// Winograd (conv2d_winograd.h) for this shape rather than im2col + GEMM.
enum class ConvPass { forward, backward };
bool conv2d_uses_winograd(const Conv2dShape& s, ConvPass pass);

// Which method every pass of conv2d.h and conv2d_pool.h uses, process-wide
// (`--conv-algo`; set it before the work starts, not while threads compute):
//   automatic  Winograd where it is the faster (the crossovers in
//              conv2d.cpp), im2col + GEMM elsewhere: the default;
//   direct     im2col + GEMM for every shape: each result is a plain sum of
//              products, so it is exactly 0 wherever every product is 0.
//              Winograd's transforms mix the values of a tile, so where
//              nonzero terms cancel exactly in the math they leave rounding
//              residue (the seed CNN's conv2/conv3 weight gradients: up to
//              4e-9 where the exact gradient is 0, issue 26);
//   winograd   Winograd for every shape it supports (winograd_supports),
//              whatever the batch and channel counts.
// conv2d_pool.h's direct kernel for a first layer runs in every mode.
enum class ConvAlgo { automatic, direct, winograd };
void set_conv_algo(ConvAlgo algo);
ConvAlgo conv_algo();
// "auto", "direct" or "winograd"; anything else throws std::invalid_argument.
ConvAlgo parse_conv_algo(const std::string& name);
const char* conv_algo_name(ConvAlgo algo);

template <typename T>
void conv2d_forward(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y);

// The same output for inference, where no backward pass follows: Winograd
// may take a forward-only tile (winograd_inference_tile_for; seed CNN layer
// 2, 3×3 outputs: F(3×3), 25 transform points per image where F(4×4) has
// 36), so it need not equal conv2d_forward bit for bit, only to rounding.
template <typename T>
void conv2d_inference_forward(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y);

// dx = ∂L/∂x given dy = ∂L/∂y. Overwrites dx.
template <typename T>
void conv2d_backward_input(const Conv2dShape& s, const T* dy, const T* w, T* dx);

// dw = ∂L/∂w. Overwrites dw.
template <typename T>
void conv2d_backward_weight(const Conv2dShape& s, const T* x, const T* dy, T* dw);

// dx and dw together, each skipped when null (not both): the same results as
// the two calls above, sharing the work on dy where the method allows (the
// Winograd path transforms each dy tile once for both).
template <typename T>
void conv2d_backward(const Conv2dShape& s, const T* x, const T* dy, const T* w, T* dx, T* dw);

// db[co] = Σ_{i,oy,ox} dy[i][co][oy][ox]. Overwrites db.
template <typename T>
void conv2d_backward_bias(const Conv2dShape& s, const T* dy, T* db);

}  // namespace gc::cpu
