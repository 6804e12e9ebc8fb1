// conv2d kernels against a naive reference loop on odd shapes (sizes 1..28,
// stride 1/2, padding 0/1, dilation 1/2, batch 1/3, 1/3/5 channels), the
// determinism contract, and shape validation. The reference and its
// tolerance: conv2d_reference.h. The Winograd path's own sweep:
// test_conv2d_winograd.cpp.
#include <gtest/gtest.h>
#include <omp.h>

#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cpu/conv2d.h"
#include "tests/kernels/conv2d_reference.h"

namespace gc::cpu {
namespace {

using namespace gc::cpu::test;

// The odd-shape sweep: every combination that yields an output.
std::vector<Conv2dShape> sweep_shapes() {
  std::vector<Conv2dShape> shapes;
  const int channels[][2] = {{1, 3}, {3, 5}, {5, 1}};
  for (int hw : {1, 3, 7, 13, 28})
    for (int k : {1, 3})
      for (int stride : {1, 2})
        for (int pad : {0, 1})
          for (int dil : {1, 2})
            for (int n : {1, 3})
              for (auto& ch : channels) {
                Conv2dShape s{n, ch[0], hw, hw, ch[1], k, k, stride, stride, pad, pad, dil, dil};
                if (s.out_h() >= 1 && s.out_w() >= 1) shapes.push_back(s);
              }
  // Rectangular images and kernels, mixed strides/padding/dilation per axis.
  shapes.push_back({3, 3, 7, 13, 5, 3, 1, 2, 1, 1, 0, 1, 1});
  shapes.push_back({1, 5, 13, 7, 3, 1, 3, 1, 2, 0, 1, 2, 1});
  shapes.push_back({3, 1, 28, 3, 5, 5, 2, 2, 1, 1, 1, 1, 2});
  // Many images per GEMM block and a partial last block (3×3 outputs).
  shapes.push_back({64, 3, 5, 5, 4, 3, 3});
  // Large enough for the batch-parallel path: one image per GEMM, and
  // several images per GEMM with a partial last block in each thread.
  shapes.push_back({8, 5, 28, 28, 7, 3, 3, 1, 1, 1, 1});
  shapes.push_back({64, 5, 7, 7, 6, 3, 3});
  // Enough channels, images and tiles for conv2d to dispatch 3×3 stride-1
  // layers to Winograd (conv2d.cpp): F(4×4) tiles, then F(2×2) (2×6 outputs).
  shapes.push_back({16, 8, 13, 13, 9, 3, 3});
  shapes.push_back({17, 9, 6, 7, 8, 3, 3, 1, 1, 1, 1});
  shapes.push_back({22, 8, 4, 8, 8, 3, 3});
  // One image big enough for its output rows to be split over the threads:
  // the seed CNN's second conv, and one with padding, strides and dilation.
  shapes.push_back({1, 32, 13, 13, 64, 3, 3});
  shapes.push_back({1, 16, 15, 17, 24, 3, 3, 2, 1, 1, 1, 1, 2});
  // One image with fewer output pixels than channels: the transposed GEMM.
  shapes.push_back({1, 64, 5, 5, 64, 3, 3});
  shapes.push_back({1, 7, 4, 5, 11, 3, 3, 1, 1, 0, 0, 1, 1});
  return shapes;
}

TEST(Conv2d, FloatMatchesReferenceOnOddShapes) {
  omp_set_num_threads(2);
  unsigned seed = 1000;
  for (const auto& s : sweep_shapes()) check_against_reference<float>(s, seed++);
}

TEST(Conv2d, DoubleMatchesReferenceOnOddShapes) {
  omp_set_num_threads(2);
  unsigned seed = 2000;
  for (const auto& s : sweep_shapes()) check_against_reference<double>(s, seed++);
}

// Inference's forward pass: the training one's results to rounding, also on
// shapes where Winograd takes the forward-only F(3×3) tile (3×3 outputs;
// 5×6 outputs, the tiles reaching past them).
TEST(Conv2d, InferenceForwardMatchesReferenceOnOddShapes) {
  omp_set_num_threads(2);
  auto shapes = sweep_shapes();
  shapes.push_back({20, 8, 5, 5, 8, 3, 3});
  shapes.push_back({18, 8, 7, 8, 9, 3, 3});
  shapes.push_back({9, 10, 5, 6, 8, 3, 3, 1, 1, 1, 1});
  unsigned seed = 3000;
  for (const auto& s : shapes) {
    check_against_reference<float>(s, seed++, {conv2d_inference_forward<float>, nullptr, nullptr, 1.0});
    check_against_reference<double>(s, seed++, {conv2d_inference_forward<double>, nullptr, nullptr, 1.0});
  }
}

TEST(Conv2d, NullBiasMeansNoBias) {
  // 20×20 outputs: one image per GEMM, written straight into y; 7×7 outputs:
  // several images per GEMM, scattered into y.
  for (const Conv2dShape& s : {Conv2dShape{2, 3, 20, 20, 5, 3, 3, 1, 1, 1, 1},
                               Conv2dShape{3, 3, 7, 7, 5, 3, 3, 1, 1, 1, 1}}) {
    SCOPED_TRACE(describe(s));
    std::mt19937 rng(7);
    const auto x = random_vector<float>(x_size(s), rng);
    const auto w = random_vector<float>(w_size(s), rng);
    const std::vector<float> zero_bias(s.c_out, 0.0f);
    auto with_zero = nan_vector<float>(y_size(s)), without = nan_vector<float>(y_size(s));
    conv2d_forward(s, x.data(), w.data(), zero_bias.data(), with_zero.data());
    conv2d_forward<float>(s, x.data(), w.data(), nullptr, without.data());
    for (size_t e = 0; e < without.size(); ++e)
      ASSERT_TRUE(without[e] == with_zero[e]) << "y[" << e << "] " << without[e] << " vs "
                                              << with_zero[e];
  }
}

// Same inputs, same thread count → bitwise identical outputs, on a batch
// large enough to use both the batch-parallel path and multi-image blocks.
TEST(Conv2d, RepeatedRunsAreBitwiseIdentical) {
  omp_set_num_threads(2);
  const Conv2dShape s{13, 5, 13, 13, 7, 3, 3, 1, 1, 1, 1};
  std::mt19937 rng(42);
  const auto x = random_vector<float>(x_size(s), rng);
  const auto w = random_vector<float>(w_size(s), rng);
  const auto b = random_vector<float>(s.c_out, rng);
  const auto dy = random_vector<float>(y_size(s), rng);
  auto run = [&] {
    std::vector<float> y(y_size(s)), dx(x_size(s)), dw(w_size(s)), db(s.c_out);
    conv2d_forward(s, x.data(), w.data(), b.data(), y.data());
    conv2d_backward_input(s, dy.data(), w.data(), dx.data());
    conv2d_backward_weight(s, x.data(), dy.data(), dw.data());
    conv2d_backward_bias(s, dy.data(), db.data());
    return std::vector<std::vector<float>>{y, dx, dw, db};
  };
  const auto first = run();
  for (int repeat = 0; repeat < 3; ++repeat) {
    const auto again = run();
    for (size_t t = 0; t < first.size(); ++t)
      ASSERT_EQ(0, std::memcmp(first[t].data(), again[t].data(), sizeof(float) * first[t].size()))
          << "output " << t << " differs on repeat " << repeat;
  }
}

// conv2d_backward (both gradients in one call) equals the two separate calls
// bit for bit, on a Winograd shape and an im2col shape, with either output
// skipped; asking for neither is an error.
TEST(Conv2d, CombinedBackwardMatchesSeparateCallsBitwise) {
  omp_set_num_threads(2);
  for (const Conv2dShape& s : {Conv2dShape{21, 8, 13, 13, 9, 3, 3}, Conv2dShape{4, 3, 9, 8, 5, 3, 2, 2, 1, 1}}) {
    SCOPED_TRACE(describe(s));
    std::mt19937 rng(5);
    const auto x = random_vector<float>(x_size(s), rng);
    const auto w = random_vector<float>(w_size(s), rng);
    const auto dy = random_vector<float>(y_size(s), rng);
    std::vector<float> dx(x_size(s)), dw(w_size(s)), dx_both(x_size(s)), dw_both(w_size(s));
    std::vector<float> dx_only(x_size(s)), dw_only(w_size(s));
    conv2d_backward_input(s, dy.data(), w.data(), dx.data());
    conv2d_backward_weight(s, x.data(), dy.data(), dw.data());
    conv2d_backward(s, x.data(), dy.data(), w.data(), dx_both.data(), dw_both.data());
    conv2d_backward<float>(s, nullptr, dy.data(), w.data(), dx_only.data(), nullptr);
    conv2d_backward<float>(s, x.data(), dy.data(), nullptr, nullptr, dw_only.data());
    EXPECT_EQ(0, std::memcmp(dx.data(), dx_both.data(), sizeof(float) * dx.size()));
    EXPECT_EQ(0, std::memcmp(dw.data(), dw_both.data(), sizeof(float) * dw.size()));
    EXPECT_EQ(0, std::memcmp(dx.data(), dx_only.data(), sizeof(float) * dx.size()));
    EXPECT_EQ(0, std::memcmp(dw.data(), dw_only.data(), sizeof(float) * dw.size()));
    EXPECT_THROW(conv2d_backward<float>(s, x.data(), dy.data(), w.data(), nullptr, nullptr),
                 std::invalid_argument);
  }
}

void expect_invalid(const Conv2dShape& s, const std::string& needle) {
  SCOPED_TRACE(describe(s));
  std::vector<float> buf(1 << 16, 0.0f);
  try {
    conv2d_forward(s, buf.data(), buf.data(), buf.data(), buf.data());
    ADD_FAILURE() << "no exception";
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("conv2d_forward"), std::string::npos) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
  }
  EXPECT_THROW(conv2d_backward_input(s, buf.data(), buf.data(), buf.data()),
               std::invalid_argument);
  EXPECT_THROW(conv2d_backward_weight(s, buf.data(), buf.data(), buf.data()),
               std::invalid_argument);
  EXPECT_THROW(conv2d_backward_bias(s, buf.data(), buf.data()), std::invalid_argument);
}

TEST(Conv2d, InvalidShapesThrow) {
  expect_invalid({0, 1, 5, 5, 1, 3, 3}, "n=0");
  expect_invalid({1, 0, 5, 5, 1, 3, 3}, "c_in=0");
  expect_invalid({1, 1, 5, 5, -2, 3, 3}, "c_out=-2");
  expect_invalid({1, 1, 5, 5, 1, 0, 3}, "kernel=0x3");
  expect_invalid({1, 1, 5, 5, 1, 3, 3, 0, 1}, "stride=0x1");
  expect_invalid({1, 1, 5, 5, 1, 3, 3, 1, 1, -1, 0}, "pad=-1x0");
  expect_invalid({1, 1, 5, 5, 1, 3, 3, 1, 1, 0, 0, 1, 0}, "dilation=1x0");
  expect_invalid({1, 1, 2, 5, 1, 3, 3}, "does not fit");             // 3×3 on 2×5
  expect_invalid({1, 1, 5, 5, 1, 3, 3, 1, 1, 0, 0, 3, 1}, "does not fit");  // dilated to 7
  expect_invalid({1, 1 << 16, 5, 5, 1 << 16, 3, 3}, "exceed int range");
  expect_invalid({1, 1, 5, 5, 1, 3, 3, 1, 1, 1 << 30, 0}, "padded input exceeds int range");
}

TEST(Conv2d, NullPointersThrow) {
  const Conv2dShape s{1, 1, 3, 3, 1, 3, 3};
  std::vector<float> buf(16, 0.0f);
  EXPECT_THROW(conv2d_forward<float>(s, nullptr, buf.data(), nullptr, buf.data()),
               std::invalid_argument);
  EXPECT_THROW(conv2d_forward<float>(s, buf.data(), buf.data(), nullptr, nullptr),
               std::invalid_argument);
  EXPECT_THROW(conv2d_backward_input<float>(s, buf.data(), nullptr, buf.data()),
               std::invalid_argument);
  EXPECT_THROW(conv2d_backward_weight<float>(s, buf.data(), buf.data(), nullptr),
               std::invalid_argument);
  EXPECT_THROW(conv2d_backward_bias<float>(s, nullptr, buf.data()), std::invalid_argument);
}

TEST(Conv2d, OutputSizeFollowsFloorFormula) {
  // floor((h + 2·pad − dil·(k − 1) − 1) / stride) + 1
  const Conv2dShape s{1, 1, 28, 13, 1, 3, 3, 2, 3, 1, 0, 2, 1};
  EXPECT_EQ(s.out_h(), (28 + 2 - 2 * 2 - 1) / 2 + 1);  // 13
  EXPECT_EQ(s.out_w(), (13 + 0 - 1 * 2 - 1) / 3 + 1);  // 4
  const Conv2dShape too_small{1, 1, 2, 2, 1, 3, 3};
  EXPECT_EQ(too_small.out_h(), 0);
}

}  // namespace
}  // namespace gc::cpu
