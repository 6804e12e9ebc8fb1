// sum against a long double reference on odd sizes, accuracy on a case where
// naive float accumulation drifts, and bitwise determinism across thread
// counts and between sum and sum_serial.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cpu/reduce.h"
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
bool same_bits(T a, T b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

template <typename T>
class ReduceTest : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(ReduceTest, Types);

// Tolerance: a pairwise sum errs by at most about (log2(n/1024) + 1024/16 + 4)·u·Σ|x|;
// we allow 100·u·Σ|x| (u = unit roundoff of T).
TYPED_TEST(ReduceTest, MatchesReference) {
  using T = TypeParam;
  const double u = std::numeric_limits<T>::epsilon() / 2;
  for (int64_t n : {0, 1, 3, 7, 15, 16, 17, 33, 1000, 1024, 1025, 32769, 100003, 3000001}) {
    SCOPED_TRACE("n=" + std::to_string(n));
    const auto x = random_vector<T>(n, 40 + n);
    long double ref = 0, mag = 0;
    for (T v : x) {
      ref += v;
      mag += std::fabs(v);
    }
    const T got = sum(n, x.data());
    ASSERT_TRUE(std::fabs(static_cast<double>(got - ref)) <= 100 * u * static_cast<double>(mag))
        << "got " << got << " want " << static_cast<double>(ref);
  }
}

// 4M copies of 0.1f: a naive float loop ends near 3.845e5 rather than 4.0e5
// (once the total passes 2^17 each add of 0.1 rounds down to 0.09375); the
// blocked pairwise sum stays within 1e-6 relative.
TEST(Reduce, StaysAccurateWhereNaiveFloatSumDrifts) {
  const int64_t n = 4'000'000;
  const std::vector<float> x(n, 0.1f);
  const double want = static_cast<double>(0.1f) * n;
  float naive = 0;
  for (float v : x) naive += v;
  EXPECT_FALSE(std::fabs(naive - want) <= 1e-3 * want) << "the naive sum should drift for this test to mean anything";
  const float got = sum(n, x.data());
  EXPECT_TRUE(std::fabs(got - want) <= 1e-6 * want) << "got " << got << " want " << want;
}

TYPED_TEST(ReduceTest, BitwiseSameForAnyThreadCountAndSerial) {
  using T = TypeParam;
  for (int64_t n : {1000, 40000, 3000001}) {
    SCOPED_TRACE("n=" + std::to_string(n));
    const auto x = random_vector<T>(n, 77);
    const int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    const T one = sum(n, x.data());
    omp_set_num_threads(2);
    const T two = sum(n, x.data());
    const T again = sum(n, x.data());
    omp_set_num_threads(saved);
    EXPECT_TRUE(same_bits(one, two));
    EXPECT_TRUE(same_bits(two, again));
    EXPECT_TRUE(same_bits(one, sum_serial(n, x.data())));
  }
}

TEST(Reduce, NaNPropagatesAndNegativeCountThrows) {
  std::vector<float> x(5000, 1.0f);
  x[4321] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(std::isnan(sum<float>(5000, x.data())));
  EXPECT_THROW(sum<float>(-1, x.data()), std::invalid_argument);
}

}  // namespace
}  // namespace gc::cpu
