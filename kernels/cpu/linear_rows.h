// A dense layer for inference over a few rows, its weights packed once:
//
//   y[r][o] = act(bias[o] + Σ_i x[r][i] · w[o][i])      act = identity or ReLU
//
// for the online case (one image, a handful queued together), where
// sgemm's per-call packing of A and B costs as much as its arithmetic: the
// seed CNN's fc1 (576 → 64) at batch 1 is 37k multiply-adds. The weights are
// stored transposed and padded, wt[i][o] for o < out_padded (a multiple of
// 16, zeros past `out`), so one step of i is a broadcast of x[r][i] and a
// contiguous run of weights: the AVX2 kernel keeps a 4-row × 16-column block
// of sums in eight registers. Every sum runs over i in order, one fused
// multiply-add at a time, in blocks of kLinearSumBlock terms, each block's
// sum added to a running total that starts at the bias: the order in which
// sgemm with β = 1 on the bias (the engine's linear op) adds its k blocks on
// AVX2, so on such a CPU the results are the engine's bits; nor do they
// depend on how many rows are in a call.
#pragma once

#include <cstdint>
#include <vector>

namespace gc::cpu {

// sgemm's k block on AVX2 (kernels/cpu/sgemm_kernel_avx2.cpp, kc).
constexpr int kLinearSumBlock = 512;

struct PackedLinear {
  int in = 0, out = 0, out_padded = 0;
  std::vector<float> wt;    // in × out_padded
  std::vector<float> bias;  // out_padded (zeros when the layer has none)
};

// w: out × in, row-major (the layer's weight); bias may be null. Throws
// std::invalid_argument for sizes below 1 or a null w.
PackedLinear pack_linear(int in, int out, const float* w, const float* bias);

// x: rows × in, y: rows × out (row-major, no padding). relu applies
// max(·, 0) to each output.
void packed_linear_forward(const PackedLinear& p, int64_t rows, const float* x, float* y, bool relu);

namespace linear_rows_detail {
// AVX2 + FMA kernel (linear_rows_avx2.cpp), called only where the CPU has it.
void forward_avx2(const PackedLinear& p, int64_t rows, const float* x, float* y, bool relu);
}  // namespace linear_rows_detail

}  // namespace gc::cpu
