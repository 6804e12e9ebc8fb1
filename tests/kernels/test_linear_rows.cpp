// packed_linear_forward (kernels/cpu/linear_rows.h) against a double
// reference on odd sizes, and its promises: the AVX2 and portable paths give
// the same bits, and a row's result does not depend on how many rows share
// the call.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <optional>
#include <random>
#include <vector>

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/linear_rows.h"

namespace gc::cpu {
namespace {

std::vector<float> random_values(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

struct Case {
  int in, out;
  int64_t rows;
  bool bias, relu;
};

class LinearRowsTest : public ::testing::TestWithParam<Case> {};

TEST_P(LinearRowsTest, MatchesDoubleReference) {
  const Case c = GetParam();
  const std::vector<float> w = random_values(size_t(c.in) * c.out, 1), b = random_values(c.out, 2),
                           x = random_values(size_t(c.rows) * c.in, 3);
  const PackedLinear p = pack_linear(c.in, c.out, w.data(), c.bias ? b.data() : nullptr);
  std::vector<float> y(size_t(c.rows) * c.out, std::nanf(""));
  packed_linear_forward(p, c.rows, x.data(), y.data(), c.relu);
  for (int64_t r = 0; r < c.rows; ++r)
    for (int o = 0; o < c.out; ++o) {
      double sum = c.bias ? b[o] : 0.0, magnitude = std::fabs(sum);
      for (int i = 0; i < c.in; ++i) {
        sum += double(x[r * c.in + i]) * w[size_t(o) * c.in + i];
        magnitude += std::fabs(double(x[r * c.in + i]) * w[size_t(o) * c.in + i]);
      }
      const double want = c.relu ? std::max(sum, 0.0) : sum;
      const float got = y[r * c.out + o];
      // float rounding of each of the in steps, relative to Σ|terms|
      ASSERT_TRUE(std::fabs(got - want) <= 1e-6 * c.in * magnitude + 1e-30) << "row " << r << " output " << o
                                                                             << ": " << got << " vs " << want;
    }
}

TEST_P(LinearRowsTest, PortablePathGivesTheSameBits) {
  if (!cpu_supports(SimdLevel::avx2)) GTEST_SKIP() << "no AVX2 on this CPU: only the portable path runs";
  const Case c = GetParam();
  const std::vector<float> w = random_values(size_t(c.in) * c.out, 4), b = random_values(c.out, 5),
                           x = random_values(size_t(c.rows) * c.in, 6);
  const PackedLinear p = pack_linear(c.in, c.out, w.data(), c.bias ? b.data() : nullptr);
  std::vector<float> simd(size_t(c.rows) * c.out), portable(simd.size());
  packed_linear_forward(p, c.rows, x.data(), simd.data(), c.relu);
  set_simd_override(SimdLevel::scalar);
  packed_linear_forward(p, c.rows, x.data(), portable.data(), c.relu);
  set_simd_override(std::nullopt);
  for (size_t k = 0; k < simd.size(); ++k) ASSERT_EQ(simd[k], portable[k]) << "value " << k;
}

TEST_P(LinearRowsTest, EachRowAloneGivesTheSameBits) {
  const Case c = GetParam();
  const std::vector<float> w = random_values(size_t(c.in) * c.out, 7), b = random_values(c.out, 8),
                           x = random_values(size_t(c.rows) * c.in, 9);
  const PackedLinear p = pack_linear(c.in, c.out, w.data(), c.bias ? b.data() : nullptr);
  std::vector<float> together(size_t(c.rows) * c.out), alone(c.out);
  packed_linear_forward(p, c.rows, x.data(), together.data(), c.relu);
  for (int64_t r = 0; r < c.rows; ++r) {
    packed_linear_forward(p, 1, x.data() + r * c.in, alone.data(), c.relu);
    for (int o = 0; o < c.out; ++o) ASSERT_EQ(together[r * c.out + o], alone[o]) << "row " << r << " output " << o;
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, LinearRowsTest,
                         ::testing::Values(Case{576, 64, 1, true, true}, Case{64, 10, 1, true, false},
                                           Case{1, 1, 1, false, false}, Case{7, 17, 3, true, true},
                                           Case{33, 16, 4, false, true}, Case{100, 31, 5, true, false},
                                           Case{784, 64, 9, true, true}, Case{120, 84, 16, true, true}));

TEST(LinearRows, NaNPropagatesThroughTheReLU) {
  const std::vector<float> w = {1.0f, 1.0f}, x = {std::nanf(""), 1.0f};
  const PackedLinear p = pack_linear(2, 1, w.data(), nullptr);
  float y = 0;
  packed_linear_forward(p, 1, x.data(), &y, /*relu=*/true);
  EXPECT_TRUE(std::isnan(y));
}

TEST(LinearRows, RefusesBadSizes) {
  const float w = 1;
  EXPECT_THROW(pack_linear(0, 1, &w, nullptr), std::invalid_argument);
  EXPECT_THROW(pack_linear(1, 1, nullptr, nullptr), std::invalid_argument);
}

}  // namespace
}  // namespace gc::cpu
