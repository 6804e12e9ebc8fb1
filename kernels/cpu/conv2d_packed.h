// A convolution for inference with its weights packed once, computed as an
// implicit GEMM: no im2col, no per-call packing. conv2d.h's im2col path
// unfolds the input into a column matrix and sgemm packs both operands on
// every call; for one image of the seed CNN's second layer (32 → 64
// channels, 13×13) that unfolding and packing took about as long as the
// arithmetic (perf, docs/SERVING.md "Online inference").
//
// Here the weights are stored once as w[k][co] (k = (ci, ky, kx), the
// im2col row order; co padded to a multiple of 8), and the input values a
// GEMM would read from the column matrix are read straight from the image:
// for output pixel q, column k is x[k_offset[k] + pixel_offset[q]] in the
// (zero-padded) input. The AVX2 register tile is 4 output pixels × 24
// channels (twelve 8-lane sums): per k, four broadcasts of x and three
// weight loads for twelve fused multiply-adds.
//
// Each output is summed over k in order, one fused multiply-add at a time,
// in blocks of kLinearSumBlock (512) terms added to a running total, then
// the bias is added: the order of im2col + sgemm on AVX2, so the results
// are conv2d_forward's bits there (tests/kernels/test_conv2d_packed.cpp).
//
// Tails: ReLU, or a 2×2 stride-2 max-pool (floor mode) and ReLU, where a
// tile is one pool window: the convolution's full output never reaches
// memory. NaN gives NaN or 0 after a pool, as conv2d_pool.h says.
//
// Threads: images split over the OpenMP threads when there are several,
// a lone image's tiles otherwise; below kParallelMinMacs multiply-adds all
// on the calling thread. Every output is computed by one thread in the same
// order, so the results do not depend on the thread count.
#pragma once

#include <vector>

#include "kernels/cpu/conv2d.h"

namespace gc::cpu {

enum class ConvTail { none, relu, pool_relu };

// A tile is 4 output pixels: with pool_relu one pool window (one pooled
// output), otherwise 4 consecutive pixels in raster order (a last tile
// short of 4 repeats its last pixel and drops the copies).
struct PackedConv2d {
  Conv2dShape shape{};  // shape.n is ignored: the batch comes with each call
  ConvTail tail = ConvTail::none;
  int c_out_padded = 0, padded_h = 0, padded_w = 0;
  int tiles = 0, plane = 0;            // tiles per image; outputs per channel and image
  std::vector<float> w;                // kdim × c_out_padded
  std::vector<float> bias;             // c_out_padded (zeros without a bias)
  std::vector<int> k_offsets;          // kdim: ci·padded_h·padded_w + ky·dil·padded_w + kx·dil
  std::vector<int> pixel_offsets;      // 4 per tile, into the padded image
  std::vector<int> outputs;            // pool_relu: 1 per tile; otherwise 4 (−1: a repeated pixel)
};

// s: a valid shape (validate_conv2d_shape), w: c_out × c_in × kh × kw, bias
// may be null. Throws std::invalid_argument naming the problem (pool_relu
// needs an output of at least 2×2).
PackedConv2d pack_conv2d(const Conv2dShape& s, const float* w, const float* bias, ConvTail tail);

// x: n × c_in × h × w; y: n × c_out × out_h × out_w, or with pool_relu
// n × c_out × ⌊out_h/2⌋ × ⌊out_w/2⌋.
void packed_conv2d_forward(const PackedConv2d& p, int n, const float* x, float* y);

namespace conv_packed_detail {
// Tiles [first, last) of one image; x is the padded image, y its output.
// AVX2 + FMA (conv2d_packed_avx2.cpp), called only where the CPU has it.
void tiles_avx2(const PackedConv2d& p, int first, int last, const float* x, float* y);
}  // namespace conv_packed_detail
}  // namespace gc::cpu
