// Differentiable tensor operations. Each op lives in engine/ops/<family>.cpp:
// its forward calls a hand-written kernel (kernels/cpu/<family>.h, or the
// CUDA kernel for cuda tensors) and records a backward rule on the tape.
// Shape errors name the op and both shapes.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "engine/tensor.h"

namespace gc {

// ---- dense ----
// [m, k] · [k, n] → [m, n]
Tensor matmul(const Tensor& a, const Tensor& b);
// x [n, in] · weightᵀ [in, out] + bias [out] → [n, out]; bias may be undefined.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias);

// ---- convolution and pooling (NCHW) ----
// A size per spatial axis: height, then width. One number means both, so
// {.stride = 2} and {.stride = {2, 1}} both read naturally.
struct Hw {
  int h = 0, w = 0;
  Hw(int both = 0) : h(both), w(both) {}  // NOLINT: implicit on purpose
  Hw(int height, int width) : h(height), w(width) {}
  bool operator==(const Hw&) const = default;
  // "3" when both axes agree, else "3x5" (the spec syntax, layers/spec.h).
  std::string str() const { return h == w ? std::to_string(h) : std::to_string(h) + "x" + std::to_string(w); }
};

struct Conv2dOptions {
  Hw stride = 1;
  Hw padding = 0;  // the same on both sides of an axis
  Hw dilation = 1;
};
// x [n, c_in, h, w], weight [c_out, c_in, kh, kw], bias [c_out] or undefined.
// On the CPU, gc::cpu::set_conv_algo (kernels/cpu/conv2d.h) chooses between
// Winograd where it is faster and im2col + GEMM everywhere (exact zeros).
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Conv2dOptions options = {});

struct Pool2dOptions {
  Hw kernel = 2;
  Hw stride = 0;   // 0 on an axis: the kernel's size on it
  Hw padding = 0;  // at most half the kernel; the average counts it as zeros
};
Tensor max_pool2d(const Tensor& x, Pool2dOptions options = {});
Tensor avg_pool2d(const Tensor& x, Pool2dOptions options = {});

// Inference only: relu(max_pool2d(conv2d(x, weight, bias, options), 2×2
// stride 2)) in one call (kernels/cpu/conv2d_pool.h: a direct kernel for a
// first layer, Winograd's output transform for the layers it takes), without
// the conv's full output in memory. conv2d_pool_relu_fits says whether it
// applies: the CPU, nothing that needs a gradient, a conv output of at least
// 2×2. conv2d_pool_relu throws where it does not.
bool conv2d_pool_relu_fits(const Tensor& x, const Tensor& weight, const Tensor& bias, Conv2dOptions options);
Tensor conv2d_pool_relu(const Tensor& x, const Tensor& weight, const Tensor& bias, Conv2dOptions options = {});

// ---- elementwise ----
Tensor relu(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
// Broadcasting (numpy rules, right-aligned, up to 4 dims): e.g. a bias
// [1, C, 1, 1] over [N, C, H, W], or [n] over [m, n].
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor scale(const Tensor& x, double factor);

// ---- reductions (to a one-element tensor of shape []) ----
Tensor sum(const Tensor& x);
Tensor mean(const Tensor& x);

// ---- losses ----
// Row-wise over [rows, classes].
Tensor log_softmax(const Tensor& logits);
// Mean over the batch of −log softmax(logits)[label]; fused and stable for
// logits of any magnitude. labels.size() must equal the batch size.
Tensor softmax_cross_entropy(const Tensor& logits, std::span<const int32_t> labels);

// ---- regularisation ----
// Inverted dropout: in training, zeroes each element with probability p and
// scales the rest by 1/(1−p), with a mask that depends only on `seed`;
// in evaluation (training == false) returns x unchanged.
Tensor dropout(const Tensor& x, double p, uint64_t seed, bool training);

}  // namespace gc
