// conv2d_pool_relu_forward against the definition: the convolution sum in
// double (conv2d_reference.h), then the 2×2 max and the ReLU. The max and the
// ReLU move an error by no more than the largest error of the four sums, so
// each output's tolerance is tol · (largest Σ|terms| of its four sums), plus
// the Winograd tests' share of the tensor's largest Σ|terms| where Winograd
// runs. Every path runs: the direct kernel (portable and AVX2) on odd
// shapes, channel counts that leave one to three output channels over and
// rows with a part-filled last block of four outputs or a last block of one
// or two; Winograd's pooled output
// transform, also checked bit for bit against Winograd, pool and ReLU in
// turn; and the unfused fallback. Batches are split over two threads.
#include <gtest/gtest.h>
#include <omp.h>

#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cpu/activation.h"
#include "kernels/cpu/conv2d_pool.h"
#include "kernels/cpu/conv2d_winograd.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/pool2d.h"
#include "tests/kernels/conv2d_reference.h"

namespace gc::cpu::test {
namespace {

idx pooled_size(const Conv2dShape& s) { return idx(s.n) * s.c_out * (s.out_h() / 2) * (s.out_w() / 2); }

// conv2d_pool_relu_forward on its own path, or, given a tile, the Winograd
// pooled pass with that tile.
template <typename T>
void check_fused(const Conv2dShape& s, unsigned seed, bool with_bias, std::optional<WinogradTile> tile = {}) {
  SCOPED_TRACE(describe(s) + " seed=" + std::to_string(seed) + (with_bias ? "" : " no bias") +
               (tile ? " tile " + std::to_string(int(*tile)) : ""));
  std::mt19937 rng(seed);
  const auto x = random_vector<T>(x_size(s), rng);
  const auto w = random_vector<T>(w_size(s), rng);
  const auto bias = random_vector<T>(s.c_out, rng);

  Reference conv(y_size(s));
  const int oh = s.out_h(), ow = s.out_w(), ph = oh / 2, pw = ow / 2;
  if (with_bias)
    for (idx e = 0; e < y_size(s); ++e) conv.add(e, double(bias[(e / (idx(oh) * ow)) % s.c_out]));
  for_each_tap(s, [&](idx xi, idx wi, idx yi) { conv.add(yi, double(x[xi]) * double(w[wi])); });

  auto y = nan_vector<T>(pooled_size(s));
  const T* b = with_bias ? bias.data() : nullptr;
  if (tile)
    winograd_conv2d_pool_relu_forward<T>(s, x.data(), w.data(), b, y.data(), *tile);
  else
    conv2d_pool_relu_forward<T>(s, x.data(), w.data(), b, y.data());
  if (!tile && conv2d_uses_winograd(s, ConvPass::forward)) tile = winograd_pooled_tile_for(s);
  double largest = 0;
  if (tile) {
    // The tiles' shares of test_conv2d_winograd.cpp.
    const double share = *tile == WinogradTile::f6x6 ? 10.0 : 4.0;
    for (double m : conv.magnitude) largest = std::max(largest, share * m);
  }
  int failures = 0;
  for (idx plane = 0; plane < idx(s.n) * s.c_out && failures < 5; ++plane)
    for (int py = 0; py < ph; ++py)
      for (int px = 0; px < pw; ++px) {
        double best = -1e300, scale = 0;
        for (int k = 0; k < 4; ++k) {
          const idx at = (plane * oh + 2 * py + k / 2) * ow + 2 * px + k % 2;
          best = std::max(best, conv.value[at]);
          scale = std::max(scale, conv.magnitude[at]);
        }
        const double want = std::max(best, 0.0), got = y[(plane * ph + py) * pw + px];
        if (!(std::fabs(got - want) <= tolerance<T>() * (scale + largest) + 1e-30) && failures++ < 5)
          ADD_FAILURE() << "y[plane " << plane << "][" << py << "][" << px << "] = " << got << ", reference " << want;
      }
}

std::vector<Conv2dShape> shapes() {
  return {
      // the direct kernel
      {1, 1, 4, 4, 1, 3, 3},     // one pooled output
      {2, 1, 28, 28, 32, 3, 3},  // the seed CNN's first layer
      {3, 2, 9, 5, 3, 3, 3},     // odd sizes: the last conv row and column are dropped
      {2, 3, 19, 37, 5, 3, 3},   // 17 pooled columns: blocks of 4, 4, 4, 4 and 1
      {2, 2, 16, 16, 6, 3, 3},   // 7 pooled columns: blocks of 4 and 3; channels 4 + 2
      {3, 3, 14, 14, 3, 3, 3},   // 6 pooled columns: blocks of 4 and 2
      {1, 4, 12, 20, 2, 3, 3},
      {17, 1, 28, 28, 7, 3, 3},  // enough work for two threads
      // Winograd
      {16, 8, 13, 13, 9, 3, 3},              // the seed CNN's second layer, fewer channels
      {17, 9, 10, 7, 8, 3, 3, 1, 1, 1, 1},   // padded, a part-filled lane group
      {64, 8, 5, 5, 8, 3, 3},                // 3×3 outputs: one pooled output, one F(4×4) tile
      // neither: conv2d_forward, then pool and ReLU
      {2, 3, 11, 9, 4, 5, 5, 1, 1, 2, 2},
      {3, 5, 12, 12, 3, 3, 3, 2, 2},
      {2, 6, 9, 9, 5, 3, 3},
  };
}

class ConvPoolPath : public ::testing::TestWithParam<SimdLevel> {
 protected:
  void SetUp() override {
    if (!cpu_supports(GetParam())) GTEST_SKIP() << simd_name(GetParam()) << " not supported by this CPU";
    set_simd_override(GetParam());
    omp_set_num_threads(2);
  }
  void TearDown() override { set_simd_override(std::nullopt); }
};

TEST_P(ConvPoolPath, FloatMatchesTheDefinition) {
  unsigned seed = 100;
  for (const auto& s : shapes()) {
    check_fused<float>(s, seed++, true);
    check_fused<float>(s, seed++, false);
  }
}

TEST_P(ConvPoolPath, DoubleMatchesTheDefinition) {
  unsigned seed = 200;
  for (const auto& s : shapes()) check_fused<double>(s, seed++, true);
}

// The Winograd pooled pass covers the outputs its windows read with tiles of
// m and one narrower tile (2 or 4) at the bottom and right where m does not
// divide them: every tile on shapes that leave rests of 2 and 4 down and
// across, padded, with a part-filled lane group.
TEST_P(ConvPoolPath, WinogradEdgeTilesMatchTheDefinition) {
  const Conv2dShape shapes[] = {
      {3, 5, 13, 13, 6, 3, 3},              // 10 read: F(6×6) 6 + 4, F(4×4) 4 + 4 + 2
      {9, 4, 10, 14, 5, 3, 3},              // 8 × 12 read: 6 + 2 down
      {2, 3, 6, 9, 4, 3, 3, 1, 1, 1, 1},    // 6 × 8 read: 4 + 2 down for F(4×4), 6 + 2 across for F(6×6)
      {17, 2, 4, 7, 3, 3, 3},               // 2 × 4 read: one narrower tile only
      {1, 6, 16, 12, 2, 3, 3, 1, 1, 2, 0},  // 18 × 10 read: 6 + 6 + 6 down, 6 + 4 across
  };
  unsigned seed = 400;
  for (const Conv2dShape& s : shapes)
    for (WinogradTile tile : {WinogradTile::f2x2, WinogradTile::f4x4, WinogradTile::f6x6}) {
      check_fused<float>(s, seed++, true, tile);
      check_fused<double>(s, seed++, true, tile);
    }
}

INSTANTIATE_TEST_SUITE_P(Simd, ConvPoolPath, ::testing::Values(SimdLevel::scalar, SimdLevel::avx2),
                         [](const auto& info) { return std::string(simd_name(info.param)); });

// Winograd's pooled output transform against Winograd's output, then the
// pool and ReLU kernels: the same values bit for bit (the bias after the max
// rounds the same as before it), for every tile and padding. The pooled
// windows read 12 × 12 and 12 × 24 outputs, multiples of every tile, so the
// pooled pass has no narrower edge tiles and its tiles are the unpooled
// pass's.
TEST(ConvPool, WinogradPooledOutputMatchesWinogradThenPoolBitForBit) {
  omp_set_num_threads(2);
  unsigned seed = 300;
  for (const Conv2dShape& s : {Conv2dShape{16, 8, 14, 14, 9, 3, 3}, Conv2dShape{9, 10, 12, 25, 8, 3, 3, 1, 1, 1, 1}})
    for (WinogradTile tile : {WinogradTile::f2x2, WinogradTile::f4x4, WinogradTile::f6x6}) {
      SCOPED_TRACE(describe(s) + " tile " + std::to_string(int(tile)));
      std::mt19937 rng(seed++);
      const auto x = random_vector<float>(x_size(s), rng);
      const auto w = random_vector<float>(w_size(s), rng);
      const auto bias = random_vector<float>(s.c_out, rng);
      std::vector<float> full(y_size(s)), want(pooled_size(s)), got = nan_vector<float>(pooled_size(s));
      winograd_conv2d_forward(s, x.data(), w.data(), bias.data(), full.data(), tile);
      max_pool2d_forward<float>({s.n, s.c_out, s.out_h(), s.out_w(), 2, 2, 2, 2}, full.data(), want.data(), nullptr);
      relu_forward<float>(int64_t(want.size()), want.data(), want.data());
      winograd_conv2d_pool_relu_forward(s, x.data(), w.data(), bias.data(), got.data(), tile);
      EXPECT_EQ(0, std::memcmp(got.data(), want.data(), sizeof(float) * want.size()));
    }
}

TEST(ConvPool, RefusesOutputsSmallerThanTwoByTwoAndInvalidShapes) {
  std::vector<float> buf(1 << 12, 0.0f);
  for (const Conv2dShape& s : {Conv2dShape{1, 1, 3, 8, 2, 3, 3}, Conv2dShape{1, 16, 8, 3, 16, 3, 3}}) {
    SCOPED_TRACE(describe(s));
    EXPECT_FALSE(conv2d_pool_relu_supports(s));
    try {
      conv2d_pool_relu_forward<float>(s, buf.data(), buf.data(), nullptr, buf.data());
      ADD_FAILURE() << "no exception";
    } catch (const std::invalid_argument& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("conv2d_pool_relu_forward"), std::string::npos) << msg;
      EXPECT_NE(msg.find("at least 2x2, got " + std::to_string(s.out_h()) + "x" + std::to_string(s.out_w())),
                std::string::npos)
          << msg;
    }
  }
  const Conv2dShape empty{0, 1, 8, 8, 2, 3, 3};
  EXPECT_FALSE(conv2d_pool_relu_supports(empty));
  EXPECT_THROW(conv2d_pool_relu_forward<float>(empty, buf.data(), buf.data(), nullptr, buf.data()),
               std::invalid_argument);
  EXPECT_TRUE(conv2d_pool_relu_supports({1, 1, 4, 4, 1, 3, 3}));
}

TEST(ConvPool, NullPointersThrow) {
  const Conv2dShape s{1, 1, 6, 6, 2, 3, 3};
  std::vector<float> x(36), w(18), y(8);
  EXPECT_THROW(conv2d_pool_relu_forward<float>(s, nullptr, w.data(), nullptr, y.data()), std::invalid_argument);
  EXPECT_THROW(conv2d_pool_relu_forward<float>(s, x.data(), nullptr, nullptr, y.data()), std::invalid_argument);
  EXPECT_THROW(conv2d_pool_relu_forward<float>(s, x.data(), w.data(), nullptr, nullptr), std::invalid_argument);
}

}  // namespace
}  // namespace gc::cpu::test
