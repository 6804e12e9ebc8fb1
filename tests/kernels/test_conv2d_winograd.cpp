// The Winograd conv2d path (kernels/cpu/conv2d_winograd.h), every tile size,
// called directly, against the reference loop of conv2d_reference.h: odd
// sizes (outputs 1..26 wide, so partial tiles on either edge), padding 0..2,
// 1 to 17 channels, batches from 1 image to several blocks per thread with a
// part-filled group of lanes, float and double; plus the tile choice, the
// determinism and argument checks. The float sweeps run on every SIMD level.
#include <gtest/gtest.h>
#include <omp.h>

#include <cstring>
#include <random>
#include <stdexcept>
#include <vector>

#include "kernels/cpu/conv2d_winograd.h"
#include "kernels/cpu/cpu_features.h"
#include "tests/kernels/conv2d_reference.h"

namespace gc::cpu {
namespace {

using namespace gc::cpu::test;

// Each output mixes a whole tile through the transforms, so rounding is
// measured against the tensor's largest Σ|terms| too (conv2d_reference.h).
// Both tiles pass with share 1 on these seeds; F(4×4) gets a 4× margin for
// its larger coefficients (up to 8 in Aᵀ, 5 in Bᵀ).
// F(6×6) is forward only; it rounds about 2.5× more loosely than F(4×4)
// (winograd_tiles.h), so it gets that much more margin.
template <typename T>
ConvPasses<T> f6x6_forward_pass() {
  return {[](const Conv2dShape& s, const T* x, const T* w, const T* b, T* y) {
            winograd_conv2d_forward(s, x, w, b, y, WinogradTile::f6x6);
          },
          nullptr, nullptr, 10.0};
}

// F(3×3) is forward only too; it rounds more tightly than F(4×4).
template <typename T>
ConvPasses<T> f3x3_forward_pass() {
  return {[](const Conv2dShape& s, const T* x, const T* w, const T* b, T* y) {
            winograd_conv2d_forward(s, x, w, b, y, WinogradTile::f3x3);
          },
          nullptr, nullptr, 1.0};
}

template <typename T, WinogradTile tile>
ConvPasses<T> winograd_passes() {
  return {[](const Conv2dShape& s, const T* x, const T* w, const T* b, T* y) {
            winograd_conv2d_forward(s, x, w, b, y, tile);
          },
          [](const Conv2dShape& s, const T* dy, const T* w, T* dx) {
            winograd_conv2d_backward_input(s, dy, w, dx, tile);
          },
          [](const Conv2dShape& s, const T* x, const T* dy, T* dw) {
            winograd_conv2d_backward_weight(s, x, dy, dw, tile);
          },
          tile == WinogradTile::f2x2 ? 1.0 : 4.0};
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

template <typename T, WinogradTile tile>
void check_sweep(unsigned seed) {
  omp_set_num_threads(2);
  for (const auto& s : winograd_shapes()) {
    if constexpr (tile == WinogradTile::f6x6)
      check_against_reference<T>(s, seed++, f6x6_forward_pass<T>());
    else if constexpr (tile == WinogradTile::f3x3)
      check_against_reference<T>(s, seed++, f3x3_forward_pass<T>());
    else
      check_against_reference<T>(s, seed++, winograd_passes<T, tile>());
  }
}

// The float forward pass runs the SGEMM micro-kernel of the active SIMD
// level on its own packed operands (panel sizes differ per level), so the
// float sweeps run on each level this CPU has.
class Conv2dWinogradSimd : public ::testing::TestWithParam<SimdLevel> {
 protected:
  void SetUp() override {
    if (!cpu_supports(GetParam())) GTEST_SKIP() << simd_name(GetParam()) << " not supported by this CPU";
    set_simd_override(GetParam());
  }
  void TearDown() override { set_simd_override(std::nullopt); }
};

TEST_P(Conv2dWinogradSimd, F2x2FloatMatchesReferenceOnOddShapes) { check_sweep<float, WinogradTile::f2x2>(3000); }
TEST_P(Conv2dWinogradSimd, F4x4FloatMatchesReferenceOnOddShapes) { check_sweep<float, WinogradTile::f4x4>(5000); }
TEST_P(Conv2dWinogradSimd, F6x6FloatForwardMatchesReferenceOnOddShapes) {
  check_sweep<float, WinogradTile::f6x6>(8000);
}
TEST_P(Conv2dWinogradSimd, F3x3FloatForwardMatchesReferenceOnOddShapes) {
  check_sweep<float, WinogradTile::f3x3>(8500);
}

INSTANTIATE_TEST_SUITE_P(Simd, Conv2dWinogradSimd,
                         ::testing::Values(SimdLevel::avx512, SimdLevel::avx2, SimdLevel::scalar),
                         [](const auto& info) { return std::string(simd_name(info.param)); });

TEST(Conv2dWinograd, F2x2DoubleMatchesReferenceOnOddShapes) { check_sweep<double, WinogradTile::f2x2>(4000); }
TEST(Conv2dWinograd, F4x4DoubleMatchesReferenceOnOddShapes) { check_sweep<double, WinogradTile::f4x4>(6000); }
TEST(Conv2dWinograd, F6x6DoubleForwardMatchesReferenceOnOddShapes) { check_sweep<double, WinogradTile::f6x6>(9000); }
TEST(Conv2dWinograd, F3x3DoubleForwardMatchesReferenceOnOddShapes) { check_sweep<double, WinogradTile::f3x3>(9500); }

TEST(Conv2dWinograd, OneThreadMatchesReference) {
  omp_set_num_threads(1);
  check_against_reference<float>({9, 12, 11, 11, 10, 3, 3}, 7000, winograd_passes<float, WinogradTile::f2x2>());
  check_against_reference<float>({9, 12, 11, 11, 10, 3, 3}, 7001, winograd_passes<float, WinogradTile::f4x4>());
  check_against_reference<float>({9, 12, 11, 11, 10, 3, 3}, 7002, f6x6_forward_pass<float>());
  omp_set_num_threads(2);
}

TEST(Conv2dWinograd, TileChoiceMinimisesTransformWork) {
  EXPECT_EQ(winograd_tile_for({1, 32, 13, 13, 64, 3, 3}), WinogradTile::f4x4);  // 11×11: 324 vs 576
  EXPECT_EQ(winograd_tile_for({1, 64, 5, 5, 64, 3, 3}), WinogradTile::f4x4);    // 3×3: 36 vs 64
  EXPECT_EQ(winograd_tile_for({1, 8, 4, 4, 8, 3, 3}), WinogradTile::f2x2);      // 2×2: 36 vs 16
  // Inference's unfused forward pass may also take F(3×3): transform points
  // for F(2×2), F(3×3), F(4×4).
  EXPECT_EQ(winograd_inference_tile_for({1, 64, 5, 5, 64, 3, 3}), WinogradTile::f3x3);    // 3×3: 64, 25, 36
  EXPECT_EQ(winograd_inference_tile_for({1, 8, 8, 8, 8, 3, 3}), WinogradTile::f3x3);      // 6×6: 144, 100, 144
  EXPECT_EQ(winograd_inference_tile_for({1, 32, 13, 13, 64, 3, 3}), WinogradTile::f4x4);  // 11×11: 576, 400, 324
  EXPECT_EQ(winograd_inference_tile_for({1, 8, 4, 4, 8, 3, 3}), WinogradTile::f2x2);      // 2×2: 16, 25, 36
  // The fused inference pass may also take F(6×6), and covers only the
  // outputs its pool windows read, with narrower tiles at the edges:
  // transform points per image for F(2×2), F(4×4), F(6×6); ties keep the
  // smaller tile.
  EXPECT_EQ(winograd_pooled_tile_for({1, 32, 13, 13, 64, 3, 3}), WinogradTile::f6x6);  // 10 read: 400, 256, 196
  EXPECT_EQ(winograd_pooled_tile_for({1, 8, 14, 15, 8, 3, 3}), WinogradTile::f6x6);    // 12 read: 576, 324, 256
  EXPECT_EQ(winograd_pooled_tile_for({1, 8, 10, 11, 8, 3, 3}), WinogradTile::f4x4);    // 8 read: 256, 144, 144
  EXPECT_EQ(winograd_pooled_tile_for({1, 64, 5, 5, 64, 3, 3}), WinogradTile::f2x2);    // 2 read: 16 each
}

// F(6×6) and F(3×3) refuse the backward passes; F(3×3), odd, refuses to pool.
template <WinogradTile kTile>
void expect_no_backward_pass() {
  std::vector<float> buf(1 << 12, 0.0f);
  float* p = buf.data();
  const Conv2dShape s{1, 2, 9, 9, 2, 3, 3};
  using Call = void (*)(const Conv2dShape&, float*);
  const Call calls[] = {
      [](const Conv2dShape& s, float* p) { winograd_conv2d_backward_input(s, p, p, p, kTile); },
      [](const Conv2dShape& s, float* p) { winograd_conv2d_backward_weight(s, p, p, p, kTile); },
      [](const Conv2dShape& s, float* p) { winograd_conv2d_backward(s, p, p, p, p, p, kTile); },
  };
  for (Call call : calls) {
    try {
      call(s, p);
      ADD_FAILURE() << "no error";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("forward only"), std::string::npos) << e.what();
    }
  }
}

TEST(Conv2dWinograd, F6x6AndF3x3HaveNoBackwardPass) {
  expect_no_backward_pass<WinogradTile::f6x6>();
  expect_no_backward_pass<WinogradTile::f3x3>();
  std::vector<float> buf(1 << 12, 0.0f);
  float* p = buf.data();
  try {
    winograd_conv2d_pool_relu_forward<float>({1, 2, 9, 9, 2, 3, 3}, p, p, p, p, WinogradTile::f3x3);
    ADD_FAILURE() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("odd"), std::string::npos) << e.what();
  }
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
    std::vector<std::vector<float>> outputs;
    std::vector<float> y6(y_size(s));
    winograd_conv2d_forward(s, x.data(), w.data(), b.data(), y6.data(), WinogradTile::f6x6);
    outputs.push_back(y6);
    for (WinogradTile tile : {WinogradTile::f2x2, WinogradTile::f4x4}) {
      std::vector<float> y(y_size(s)), dx(x_size(s)), dw(w_size(s));
      winograd_conv2d_forward(s, x.data(), w.data(), b.data(), y.data(), tile);
      winograd_conv2d_backward_input(s, dy.data(), w.data(), dx.data(), tile);
      winograd_conv2d_backward_weight(s, x.data(), dy.data(), dw.data(), tile);
      outputs.insert(outputs.end(), {y, dx, dw});
    }
    return outputs;
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
  constexpr WinogradTile kTile = WinogradTile::f4x4;
  const Conv2dShape strided{1, 2, 9, 9, 2, 3, 3, 2, 2};
  const Conv2dShape five_by_five{1, 2, 9, 9, 2, 5, 5};
  const Conv2dShape dilated{1, 2, 9, 9, 2, 3, 3, 1, 1, 0, 0, 2, 2};
  for (const Conv2dShape& s : {strided, five_by_five, dilated}) {
    EXPECT_FALSE(winograd_supports(s));
    EXPECT_THROW(winograd_conv2d_forward(s, p, p, p, p, kTile), std::invalid_argument);
    EXPECT_THROW(winograd_conv2d_backward_input(s, p, p, p, kTile), std::invalid_argument);
    EXPECT_THROW(winograd_conv2d_backward_weight(s, p, p, p, kTile), std::invalid_argument);
  }
  const Conv2dShape ok{1, 2, 9, 9, 2, 3, 3};
  EXPECT_TRUE(winograd_supports(ok));
  EXPECT_THROW(winograd_conv2d_forward<float>(ok, nullptr, p, p, p, kTile), std::invalid_argument);
  EXPECT_THROW(winograd_conv2d_backward_input<float>(ok, p, nullptr, p, kTile), std::invalid_argument);
  EXPECT_THROW(winograd_conv2d_backward_weight<float>(ok, p, p, nullptr, kTile), std::invalid_argument);
  EXPECT_THROW(winograd_conv2d_forward<float>({0, 2, 9, 9, 2, 3, 3}, p, p, p, p, kTile),
               std::invalid_argument);
}

}  // namespace
}  // namespace gc::cpu
