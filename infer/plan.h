// A compiled inference plan: a Sequential model turned, once per model load,
// into a fixed list of steps over raw float buffers, so that a forward pass
// does no per-call work it can do once.
//
// Where the engine's forward pass spends a lone image's time (the seed CNN,
// batch 1, one thread, Zen 3; per-layer timers, docs/SERVING.md "Online
// inference"): see the table there. In short: the arithmetic of the second
// convolution dominates; around it the engine pays for a tensor, a shape
// check and a tape test per op, a zero-filled bias add and a packed sgemm
// per linear layer, and a heap vector inside the unfused conv + pool.
//
// What the plan does instead:
//   - the layers are resolved once: each step holds the kernel's shape (its
//     batch size filled in per call), its weights, and what it fuses:
//       conv + ReLU + 2×2 max-pool (either order) → conv2d_pool_relu_forward
//       conv + ReLU, pool + ReLU                  → the ReLU in place after it
//       linear + bias (+ ReLU)                    → packed_linear_forward for
//         up to kPackedLinearMaxRows rows (weights transposed and padded at
//         load), sgemm on the layer's own weights above that;
//     flatten and (inference) dropout are no steps at all;
//   - activations live in a Workspace: two buffers that steps write in
//     turn, sized for the largest batch seen, so a call allocates nothing
//     once a batch of its size has run;
//   - each step runs on one thread unless its batch has at least
//     kMultiThreadMinMacs multiply-adds, so a lone image runs on the calling
//     thread and the other OpenMP threads stay asleep between requests.
//     Measured (seed CNN, batch 1, `bench --threads 2`, Zen 3 shared with
//     other builds): conv2 (2.2M multiply-adds) split over two threads took
//     1.5–3.1 ms per image against 0.11–0.19 ms on one, the second thread
//     mostly waiting for a core (bench/RESULTS.md).
// The convolutions are the engine's own kernels with the engine's own
// choices (Winograd from 8 images), so the plan agrees with
// Sequential::forward to rounding of the linear layers' sums (tested within
// 1e-6 relative, tests/infer/test_plan.cpp); like the engine, it gives
// results that differ with the batch size only by that rounding.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "layers/sequential.h"

namespace gc::infer {

// Activation buffers for one caller at a time (each OpenMP slice has its own).
struct Workspace {
  std::vector<float> ping, pong;
};

class Plan {
 public:
  // input_shape: one image's (c, h, w) or (features). Throws
  // std::invalid_argument naming the layer (e.g. "layer 3 (fc1): ...") for a
  // layer or parameter the plan cannot run: float CPU parameters only.
  Plan(const Sequential& model, const std::vector<int64_t>& input_shape);
  ~Plan();
  Plan(Plan&&) noexcept;
  Plan& operator=(Plan&&) noexcept;

  int64_t input_size() const { return input_size_; }
  int64_t output_size() const { return output_size_; }
  // One line per step: what it runs and which layers it covers.
  std::string describe() const;

  // x: n × input_size() → y: n × output_size(). Safe to call from several
  // threads at once, each with its own workspace.
  void run(const float* x, int64_t n, float* y, Workspace& workspace) const;

  struct Step;

 private:
  std::vector<std::unique_ptr<Step>> steps_;
  int64_t input_size_ = 0, output_size_ = 0, largest_activation_ = 0;
};

// Multiply-adds of one step's whole batch below which it runs on the calling
// thread alone.
constexpr double kMultiThreadMinMacs = 4e6;
// Convolutions with at least this many output channels take the packed
// kernel (kernels/cpu/conv2d_packed.h) where the engine would run im2col +
// GEMM; with fewer, its 8-channel vectors are mostly padding and sgemm's
// 6-row register tile fits better.
constexpr int kPackedConvMinChannels = 16;
// Rows up to this take the packed linear kernel; more take sgemm.
constexpr int64_t kPackedLinearMaxRows = 16;

}  // namespace gc::infer
