// Inverted dropout: mask values and mean, identity at p = 0, zeros at p = 1,
// the same mask for the same seed on every run and thread count, a different
// one for another seed, and backward = dy·mask.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "kernels/cpu/dropout.h"
#include "kernels/cpu/rng.h"

namespace gc::cpu {
namespace {

template <typename T>
std::vector<T> random_vector(int64_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<T> v(n);
  for (T& x : v) x = static_cast<T>(rng.uniform(-1, 1));
  return v;
}

template <typename T>
class DropoutTest : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(DropoutTest, Types);

// n = 200001, p = 0.3: the kept fraction has sd √(p(1−p)/n) ≈ 1.0e-3 and the
// mask mean (kept/(1−p)) sd ≈ 1.5e-3; tolerances 6e-3 and 9e-3 are ~6 sd.
TYPED_TEST(DropoutTest, MaskIsZeroOrScaleWithMeanOne) {
  using T = TypeParam;
  const int64_t n = 200001;
  const T p = T(0.3);
  const auto x = random_vector<T>(n, 1);
  std::vector<T> mask(n), y(n);
  dropout_forward(n, p, 42, x.data(), mask.data(), y.data());
  const T scale = T(1) / (T(1) - p);
  int64_t kept = 0;
  double mask_sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_TRUE(mask[i] == T(0) || mask[i] == scale) << "i=" << i << " mask=" << mask[i];
    ASSERT_EQ(y[i], x[i] * mask[i]) << "i=" << i;
    kept += mask[i] != T(0);
    mask_sum += mask[i];
  }
  EXPECT_TRUE(std::fabs(static_cast<double>(kept) / n - 0.7) <= 6e-3) << kept;
  EXPECT_TRUE(std::fabs(mask_sum / n - 1.0) <= 9e-3) << mask_sum / n;
}

TYPED_TEST(DropoutTest, ZeroProbabilityIsIdentityAndOneDropsAll) {
  using T = TypeParam;
  for (int64_t n : {1, 3, 7, 33, 1000}) {
    const auto x = random_vector<T>(n, n);
    std::vector<T> mask(n), y(n);
    dropout_forward(n, T(0), 9, x.data(), mask.data(), y.data());
    EXPECT_EQ(y, x);
    EXPECT_EQ(mask, std::vector<T>(n, T(1)));
    dropout_forward(n, T(1), 9, x.data(), mask.data(), y.data());
    EXPECT_EQ(y, std::vector<T>(n, T(0)));
    EXPECT_EQ(mask, std::vector<T>(n, T(0)));
  }
}

TEST(Dropout, SameSeedSameMaskOnAnyThreadCount) {
  const int64_t n = 100003;  // above the OpenMP threshold
  const auto x = random_vector<float>(n, 2);
  std::vector<float> m1(n), m2(n), m3(n), m4(n), y(n);
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  dropout_forward(n, 0.5f, 7, x.data(), m1.data(), y.data());
  omp_set_num_threads(2);
  dropout_forward(n, 0.5f, 7, x.data(), m2.data(), y.data());
  dropout_forward(n, 0.5f, 7, x.data(), m3.data(), y.data());
  dropout_forward(n, 0.5f, 8, x.data(), m4.data(), y.data());
  omp_set_num_threads(saved);
  EXPECT_EQ(m1, m2);
  EXPECT_EQ(m2, m3);
  EXPECT_NE(m3, m4);
  // A prefix gets the same mask as the whole: element i depends on (seed, i) only.
  std::vector<float> prefix(33), yp(33);
  dropout_forward(33, 0.5f, 7, x.data(), prefix.data(), yp.data());
  EXPECT_TRUE(std::equal(prefix.begin(), prefix.end(), m1.begin()));
}

// The documented rule: keep element i iff the uniform from counter_bits(seed, i) is ≥ p.
TEST(Dropout, MaskFollowsCounterBits) {
  const int64_t n = 1000;
  const std::vector<float> x(n, 1.0f);
  std::vector<float> mask(n), y(n);
  dropout_forward(n, 0.4f, 123, x.data(), mask.data(), y.data());
  for (int64_t i = 0; i < n; ++i) {
    const bool keep = uniform_float_from_bits(counter_bits(123, static_cast<uint64_t>(i))) >= 0.4f;
    ASSERT_EQ(mask[i] != 0.0f, keep) << "i=" << i;
  }
}

TYPED_TEST(DropoutTest, BackwardMultipliesByMask) {
  using T = TypeParam;
  const int64_t n = 1001;
  const auto x = random_vector<T>(n, 3), dy = random_vector<T>(n, 4);
  std::vector<T> mask(n), y(n), dx(n);
  dropout_forward(n, T(0.25), 5, x.data(), mask.data(), y.data());
  dropout_backward(n, mask.data(), dy.data(), dx.data());
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(dx[i], dy[i] * mask[i]) << "i=" << i;
}

TEST(Dropout, BadProbabilityThrows) {
  float x = 1, m, y;
  EXPECT_THROW(dropout_forward<float>(1, -0.1f, 0, &x, &m, &y), std::invalid_argument);
  EXPECT_THROW(dropout_forward<float>(1, 1.5f, 0, &x, &m, &y), std::invalid_argument);
  EXPECT_THROW(dropout_forward<float>(1, std::numeric_limits<float>::quiet_NaN(), 0, &x, &m, &y),
               std::invalid_argument);
  EXPECT_THROW(dropout_forward<float>(-1, 0.5f, 0, &x, &m, &y), std::invalid_argument);
}

}  // namespace
}  // namespace gc::cpu
