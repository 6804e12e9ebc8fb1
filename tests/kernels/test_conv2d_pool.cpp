// conv2d_pool_relu_forward against the definition: the convolution sum in
// double (conv2d_reference.h), then the 2×2 max and the ReLU. The max and the
// ReLU move an error by no more than the largest error of the four sums, so
// each output's tolerance is tol · (largest Σ|terms| of its four sums).
// Every path this CPU has (portable, AVX2) runs on odd shapes, channel counts
// that leave a single output channel over, rows with a part-filled last block
// of eight outputs, and batches split over two threads.
#include <gtest/gtest.h>
#include <omp.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cpu/conv2d_pool.h"
#include "kernels/cpu/cpu_features.h"
#include "tests/kernels/conv2d_reference.h"

namespace gc::cpu::test {
namespace {

idx pooled_size(const Conv2dShape& s) { return idx(s.n) * s.c_out * (s.out_h() / 2) * (s.out_w() / 2); }

template <typename T>
void check_fused(const Conv2dShape& s, unsigned seed, bool with_bias) {
  SCOPED_TRACE(describe(s) + " seed=" + std::to_string(seed) + (with_bias ? "" : " no bias"));
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
  conv2d_pool_relu_forward<T>(s, x.data(), w.data(), with_bias ? bias.data() : nullptr, y.data());
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
        if (!(std::fabs(got - want) <= tolerance<T>() * scale + 1e-30) && failures++ < 5)
          ADD_FAILURE() << "y[plane " << plane << "][" << py << "][" << px << "] = " << got << ", reference " << want;
      }
}

std::vector<Conv2dShape> shapes() {
  return {
      {1, 1, 4, 4, 1, 3, 3},     // one pooled output
      {2, 1, 28, 28, 32, 3, 3},  // the seed CNN's first layer
      {3, 2, 9, 5, 3, 3, 3},     // odd sizes: the last conv row and column are dropped
      {2, 3, 19, 37, 5, 3, 3},   // 17 pooled columns: blocks of 8, 8 and 1
      {1, 4, 12, 20, 2, 3, 3},
      {17, 1, 28, 28, 7, 3, 3},  // enough work for two threads
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

INSTANTIATE_TEST_SUITE_P(Simd, ConvPoolPath, ::testing::Values(SimdLevel::scalar, SimdLevel::avx2),
                         [](const auto& info) { return std::string(simd_name(info.param)); });

void expect_refused(const Conv2dShape& s, const std::string& needle) {
  SCOPED_TRACE(describe(s));
  EXPECT_FALSE(conv2d_pool_relu_supports(s));
  std::vector<float> buf(1 << 16, 0.0f);
  try {
    conv2d_pool_relu_forward<float>(s, buf.data(), buf.data(), nullptr, buf.data());
    ADD_FAILURE() << "no exception";
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("conv2d_pool_relu_forward"), std::string::npos) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
  }
}

TEST(ConvPool, RefusesWhatItDoesNotCover) {
  expect_refused({1, 5, 8, 8, 2, 3, 3}, "c_in=5");
  expect_refused({1, 1, 8, 8, 2, 5, 5}, "kernel 5x5");
  expect_refused({1, 1, 8, 8, 2, 3, 3, 2, 2}, "stride 2x2");
  expect_refused({1, 1, 8, 8, 2, 3, 3, 1, 1, 1, 1}, "padding 1x1");
  expect_refused({1, 1, 9, 9, 2, 3, 3, 1, 1, 0, 0, 2, 2}, "dilation 2x2");
  expect_refused({1, 1, 3, 8, 2, 3, 3}, "output 1x6");
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
