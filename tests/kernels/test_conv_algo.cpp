// set_conv_algo (kernels/cpu/conv2d.h): `direct` gives exactly 0 wherever
// every product is 0, in all three passes, on a shape where `auto` takes
// Winograd and Winograd leaves rounding residue there; each mode picks the
// method it names; the names parse.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

#include "kernels/cpu/conv2d.h"

namespace gc::cpu {
namespace {

// The setting is process-wide: every test leaves the default behind.
class ConvAlgoTest : public ::testing::Test {
 protected:
  void TearDown() override { set_conv_algo(ConvAlgo::automatic); }
};

// 32 images, 16 → 16 channels, 12×12 → 10×10: auto takes Winograd for every
// pass (at least 16 images and 32 output tiles). x is nonzero only in input
// rows 0..5 and dy only in output rows 6..9, so
//   dW[ky][kx]  = Σ x[y+ky][·]·dy[y][·]   has x = 0 in every product (y ≥ 6),
//   dx[row < 6] = Σ w·dy[row−ky][·]        has dy = 0 in every product,
//   y[row ≥ 6]  = Σ w·x[row+ky][·]         has x = 0 in every product (no bias),
// while Winograd's F(4×4) tile of output rows 4..7 (input rows 4..9) mixes
// rows that are zero with rows that are not. (With a single nonzero row in
// that tile, its forward transform happens to keep the zeros exact.)
constexpr Conv2dShape kShape{.n = 32, .c_in = 16, .h = 12, .w = 12, .c_out = 16, .kh = 3, .kw = 3};
constexpr int kSplitRow = 6;

struct Case {
  std::vector<float> x, w, dy;
  Case() {
    const Conv2dShape& s = kShape;
    std::mt19937 rng(26);
    std::uniform_real_distribution<float> u(-1, 1);
    x.resize(size_t(s.n) * s.c_in * s.h * s.w);
    w.resize(size_t(s.c_out) * s.c_in * 9);
    dy.resize(size_t(s.n) * s.c_out * s.out_h() * s.out_w());
    for (size_t i = 0; i < x.size(); ++i) x[i] = (int(i / s.w) % s.h) < kSplitRow ? u(rng) : 0.0f;
    for (float& v : w) v = u(rng);
    for (size_t i = 0; i < dy.size(); ++i) dy[i] = (int(i / s.out_w()) % s.out_h()) >= kSplitRow ? u(rng) : 0.0f;
  }
};

// The largest |value| over the elements of [n][c][rows][cols] whose row is in [row_begin, row_end).
float largest_in_rows(const std::vector<float>& v, int rows, int cols, int row_begin, int row_end) {
  float largest = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    const int row = int(i / cols) % rows;
    if (row >= row_begin && row < row_end) largest = std::max(largest, std::fabs(v[i]));
  }
  return largest;
}

struct Results {
  std::vector<float> y, dx, dw, dx_fused, dw_fused;
};

Results run_all_passes(const Case& c) {
  const Conv2dShape& s = kShape;
  Results r;
  r.y.resize(c.dy.size());
  r.dx.resize(c.x.size());
  r.dw.resize(c.w.size());
  r.dx_fused = r.dx;
  r.dw_fused = r.dw;
  conv2d_forward(s, c.x.data(), c.w.data(), static_cast<const float*>(nullptr), r.y.data());
  conv2d_backward_input(s, c.dy.data(), c.w.data(), r.dx.data());
  conv2d_backward_weight(s, c.x.data(), c.dy.data(), r.dw.data());
  conv2d_backward(s, c.x.data(), c.dy.data(), c.w.data(), r.dx_fused.data(), r.dw_fused.data());
  return r;
}

TEST_F(ConvAlgoTest, DirectIsExactlyZeroWhereEveryProductIsZero) {
  const Case c;
  const Conv2dShape& s = kShape;
  const int oh = s.out_h(), ow = s.out_w();

  ASSERT_TRUE(conv2d_uses_winograd(s, ConvPass::forward));
  ASSERT_TRUE(conv2d_uses_winograd(s, ConvPass::backward));
  const Results fast = run_all_passes(c);
  // Why direct exists: Winograd's results there are rounding residue, not 0.
  EXPECT_GT(largest_in_rows(fast.dw, 3, 3, 0, 3), 0.0f);
  EXPECT_GT(largest_in_rows(fast.dx, s.h, s.w, 0, kSplitRow), 0.0f);
  EXPECT_GT(largest_in_rows(fast.y, oh, ow, kSplitRow, oh), 0.0f);

  set_conv_algo(ConvAlgo::direct);
  ASSERT_FALSE(conv2d_uses_winograd(s, ConvPass::forward));
  ASSERT_FALSE(conv2d_uses_winograd(s, ConvPass::backward));
  const Results exact = run_all_passes(c);
  EXPECT_EQ(largest_in_rows(exact.dw, 3, 3, 0, 3), 0.0f);
  EXPECT_EQ(largest_in_rows(exact.dw_fused, 3, 3, 0, 3), 0.0f);
  EXPECT_EQ(largest_in_rows(exact.dx, s.h, s.w, 0, kSplitRow), 0.0f);
  EXPECT_EQ(largest_in_rows(exact.dx_fused, s.h, s.w, 0, kSplitRow), 0.0f);
  EXPECT_EQ(largest_in_rows(exact.y, oh, ow, kSplitRow, oh), 0.0f);
  // Elsewhere both compute the same convolution, to rounding.
  for (size_t i = 0; i < exact.dx.size(); ++i) ASSERT_NEAR(exact.dx[i], fast.dx[i], 1e-4f) << i;
  for (size_t i = 0; i < exact.y.size(); ++i) ASSERT_NEAR(exact.y[i], fast.y[i], 1e-4f) << i;
}

TEST_F(ConvAlgoTest, EachModePicksItsMethod) {
  const Conv2dShape small{.n = 1, .c_in = 1, .h = 8, .w = 8, .c_out = 2, .kh = 3, .kw = 3};
  Conv2dShape five_by_five = kShape;
  five_by_five.kh = five_by_five.kw = 5;
  EXPECT_EQ(conv_algo(), ConvAlgo::automatic);
  EXPECT_FALSE(conv2d_uses_winograd(small, ConvPass::forward));  // too few images and channels to pay off

  set_conv_algo(ConvAlgo::winograd);
  EXPECT_EQ(conv_algo(), ConvAlgo::winograd);
  EXPECT_TRUE(conv2d_uses_winograd(small, ConvPass::forward));
  EXPECT_TRUE(conv2d_uses_winograd(small, ConvPass::backward));
  EXPECT_FALSE(conv2d_uses_winograd(five_by_five, ConvPass::forward));  // not a shape Winograd supports

  // Forced on a lone image, Winograd computes the same convolution.
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> x(64), w(18), y_winograd(72), y_direct(72);
  for (float& v : x) v = u(rng);
  for (float& v : w) v = u(rng);
  conv2d_forward(small, x.data(), w.data(), static_cast<const float*>(nullptr), y_winograd.data());
  set_conv_algo(ConvAlgo::direct);
  conv2d_forward(small, x.data(), w.data(), static_cast<const float*>(nullptr), y_direct.data());
  for (size_t i = 0; i < y_direct.size(); ++i) EXPECT_NEAR(y_winograd[i], y_direct[i], 1e-5f) << i;
}

TEST_F(ConvAlgoTest, NamesParse) {
  for (ConvAlgo a : {ConvAlgo::automatic, ConvAlgo::direct, ConvAlgo::winograd})
    EXPECT_EQ(parse_conv_algo(conv_algo_name(a)), a);
  EXPECT_STREQ(conv_algo_name(ConvAlgo::automatic), "auto");
  try {
    parse_conv_algo("fast");
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "unknown convolution method 'fast' (expected auto, direct or winograd)");
  }
}

}  // namespace
}  // namespace gc::cpu
