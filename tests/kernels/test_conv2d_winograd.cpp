// The Winograd F(2×2, 3×3) conv2d path (kernels/cpu/conv2d_winograd.h),
// called directly, against the reference loop of conv2d_reference.h: odd
// sizes (outputs 1..26 wide, so partial tiles on either edge), padding 0..2,
// 1 to 17 channels, batches that fill several blocks per thread, float and
// double; plus its determinism and argument checks.
#include <gtest/gtest.h>
#include <omp.h>

#include <cstring>
#include <random>
#include <stdexcept>
#include <vector>

#include "kernels/cpu/conv2d_winograd.h"
#include "tests/kernels/conv2d_reference.h"

namespace gc::cpu {
namespace {

using namespace gc::cpu::test;

template <typename T>
ConvPasses<T> winograd_passes() {
  // Each output mixes a whole 4×4 tile through the transforms, so rounding
  // is measured against the tensor's largest Σ|terms| too (conv2d_reference.h).
  return {winograd_conv2d_forward<T>, winograd_conv2d_backward_input<T>,
          winograd_conv2d_backward_weight<T>, 1.0};
}

std::vector<Conv2dShape> winograd_shapes() {
  std::vector<Conv2dShape> shapes;
  const int channels[][2] = {{1, 1}, {1, 4}, {3, 2}, {8, 9}, {17, 5}};
  for (int h : {3, 4, 5, 8, 13})
    for (int w : {3, 6, 11, 28})
      for (int pad : {0, 1, 2})
        for (int n : {1, 3})
          for (auto& ch : channels) {
            Conv2dShape s{n, ch[0], h, w, ch[1], 3, 3, 1, 1, pad, pad};
            if (s.out_h() >= 1 && s.out_w() >= 1) shapes.push_back(s);
          }
  // The seed CNN's middle layer on a small batch (several blocks per thread,
  // a partial last block), and a batch of 5×5 inputs (many images per block).
  shapes.push_back({19, 32, 13, 13, 64, 3, 3});
  shapes.push_back({70, 6, 5, 5, 7, 3, 3});
  // Asymmetric padding.
  shapes.push_back({2, 3, 9, 10, 4, 3, 3, 1, 1, 2, 0});
  return shapes;
}

TEST(Conv2dWinograd, FloatMatchesReferenceOnOddShapes) {
  omp_set_num_threads(2);
  unsigned seed = 3000;
  for (const auto& s : winograd_shapes()) check_against_reference<float>(s, seed++, winograd_passes<float>());
}

TEST(Conv2dWinograd, DoubleMatchesReferenceOnOddShapes) {
  omp_set_num_threads(2);
  unsigned seed = 4000;
  for (const auto& s : winograd_shapes()) check_against_reference<double>(s, seed++, winograd_passes<double>());
}

TEST(Conv2dWinograd, OneThreadMatchesReference) {
  omp_set_num_threads(1);
  check_against_reference<float>({9, 12, 11, 11, 10, 3, 3}, 5000, winograd_passes<float>());
  omp_set_num_threads(2);
}

TEST(Conv2dWinograd, RepeatedRunsAreBitwiseIdentical) {
  omp_set_num_threads(2);
  const Conv2dShape s{13, 8, 13, 13, 9, 3, 3, 1, 1, 1, 1};
  std::mt19937 rng(42);
  const auto x = random_vector<float>(x_size(s), rng);
  const auto w = random_vector<float>(w_size(s), rng);
  const auto b = random_vector<float>(s.c_out, rng);
  const auto dy = random_vector<float>(y_size(s), rng);
  auto run = [&] {
    std::vector<float> y(y_size(s)), dx(x_size(s)), dw(w_size(s));
    winograd_conv2d_forward(s, x.data(), w.data(), b.data(), y.data());
    winograd_conv2d_backward_input(s, dy.data(), w.data(), dx.data());
    winograd_conv2d_backward_weight(s, x.data(), dy.data(), dw.data());
    return std::vector<std::vector<float>>{y, dx, dw};
  };
  const auto first = run();
  for (int repeat = 0; repeat < 3; ++repeat) {
    const auto again = run();
    for (size_t t = 0; t < first.size(); ++t)
      ASSERT_EQ(0, std::memcmp(first[t].data(), again[t].data(), sizeof(float) * first[t].size()))
          << "output " << t << " differs on repeat " << repeat;
  }
}

TEST(Conv2dWinograd, RejectsUnsupportedShapesAndNullPointers) {
  std::vector<float> buf(1 << 12, 0.0f);
  float* p = buf.data();
  const Conv2dShape strided{1, 2, 9, 9, 2, 3, 3, 2, 2};
  const Conv2dShape five_by_five{1, 2, 9, 9, 2, 5, 5};
  const Conv2dShape dilated{1, 2, 9, 9, 2, 3, 3, 1, 1, 0, 0, 2, 2};
  for (const Conv2dShape& s : {strided, five_by_five, dilated}) {
    EXPECT_FALSE(winograd_supports(s));
    EXPECT_THROW(winograd_conv2d_forward(s, p, p, p, p), std::invalid_argument);
    EXPECT_THROW(winograd_conv2d_backward_input(s, p, p, p), std::invalid_argument);
    EXPECT_THROW(winograd_conv2d_backward_weight(s, p, p, p), std::invalid_argument);
  }
  const Conv2dShape ok{1, 2, 9, 9, 2, 3, 3};
  EXPECT_TRUE(winograd_supports(ok));
  EXPECT_THROW(winograd_conv2d_forward<float>(ok, nullptr, p, p, p), std::invalid_argument);
  EXPECT_THROW(winograd_conv2d_backward_input<float>(ok, p, nullptr, p), std::invalid_argument);
  EXPECT_THROW(winograd_conv2d_backward_weight<float>(ok, p, p, nullptr), std::invalid_argument);
  EXPECT_THROW(winograd_conv2d_forward<float>({0, 2, 9, 9, 2, 3, 3}, p, p, p, p),
               std::invalid_argument);
}

}  // namespace
}  // namespace gc::cpu
