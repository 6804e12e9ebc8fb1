// relu / tanh / sigmoid against straightforward per-element references on odd
// sizes (including one above the OpenMP threshold), stability at |x| large,
// NaN propagation, and central-difference checks of the backward formulas in
// double.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/cpu/activation.h"
#include "kernels/cpu/rng.h"

namespace gc::cpu {
namespace {

const int64_t kSizes[] = {1, 3, 7, 33, 1000, 40001};

template <typename T>
std::vector<T> random_vector(int64_t n, uint64_t seed, double lo, double hi) {
  Rng rng(seed);
  std::vector<T> v(n);
  for (T& x : v) x = static_cast<T>(rng.uniform(lo, hi));
  return v;
}

template <typename T>
class ActivationTest : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(ActivationTest, Types);

TYPED_TEST(ActivationTest, ReluMatchesReference) {
  using T = TypeParam;
  for (int64_t n : kSizes) {
    SCOPED_TRACE("n=" + std::to_string(n));
    const auto x = random_vector<T>(n, 100 + n, -2, 2);
    const auto dy = random_vector<T>(n, 200 + n, -1, 1);
    std::vector<T> y(n), dx(n);
    relu_forward(n, x.data(), y.data());
    relu_backward(n, x.data(), dy.data(), dx.data());
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_EQ(y[i], x[i] > 0 ? x[i] : T(0)) << "i=" << i;
      ASSERT_EQ(dx[i], x[i] > 0 ? dy[i] : T(0)) << "i=" << i;
    }
  }
}

// tanh is std::tanh element by element, so the match is exact.
TYPED_TEST(ActivationTest, TanhMatchesReference) {
  using T = TypeParam;
  for (int64_t n : kSizes) {
    SCOPED_TRACE("n=" + std::to_string(n));
    const auto x = random_vector<T>(n, 300 + n, -4, 4);
    const auto dy = random_vector<T>(n, 400 + n, -1, 1);
    std::vector<T> y(n), dx(n);
    tanh_forward(n, x.data(), y.data());
    tanh_backward(n, y.data(), dy.data(), dx.data());
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_EQ(y[i], std::tanh(x[i])) << "i=" << i;
      ASSERT_EQ(dx[i], dy[i] * (T(1) - y[i] * y[i])) << "i=" << i;
    }
  }
}

// Reference: 1/(1 + e^−x) in long double. Tolerance: 4 ulps of T relative
// (exp, one add, one division), plus the smallest normal for underflowing tails.
TYPED_TEST(ActivationTest, SigmoidMatchesReference) {
  using T = TypeParam;
  const T eps = std::numeric_limits<T>::epsilon();
  for (int64_t n : kSizes) {
    SCOPED_TRACE("n=" + std::to_string(n));
    const auto x = random_vector<T>(n, 500 + n, -30, 30);
    const auto dy = random_vector<T>(n, 600 + n, -1, 1);
    std::vector<T> y(n), dx(n);
    sigmoid_forward(n, x.data(), y.data());
    sigmoid_backward(n, y.data(), dy.data(), dx.data());
    for (int64_t i = 0; i < n; ++i) {
      const long double ref = 1.0L / (1.0L + std::exp(-static_cast<long double>(x[i])));
      const double err = std::fabs(static_cast<double>(y[i] - ref));
      ASSERT_TRUE(err <= 4 * eps * ref + std::numeric_limits<T>::min()) << "i=" << i << " x=" << x[i];
      ASSERT_EQ(dx[i], dy[i] * y[i] * (T(1) - y[i])) << "i=" << i;
    }
  }
}

TYPED_TEST(ActivationTest, SigmoidIsStableForLargeInputs) {
  using T = TypeParam;
  const std::vector<T> x = {T(1e4), T(-1e4), T(1000), T(-1000), T(-80), T(80),
                            std::numeric_limits<T>::infinity(), -std::numeric_limits<T>::infinity()};
  std::vector<T> y(x.size());
  sigmoid_forward<T>(static_cast<int64_t>(x.size()), x.data(), y.data());
  EXPECT_EQ(y[0], T(1));
  EXPECT_EQ(y[1], T(0));
  EXPECT_EQ(y[2], T(1));
  EXPECT_EQ(y[3], T(0));
  if constexpr (std::is_same_v<T, double>) {
    EXPECT_GT(y[4], 0.0);  // e^−80 ≈ 1.8e−35 is a normal double
  }
  EXPECT_EQ(y[5], T(1));
  EXPECT_EQ(y[6], T(1));
  EXPECT_EQ(y[7], T(0));
}

TYPED_TEST(ActivationTest, NaNPropagates) {
  using T = TypeParam;
  const T x[2] = {std::numeric_limits<T>::quiet_NaN(), T(1)};
  T y[2];
  relu_forward<T>(2, x, y);
  EXPECT_TRUE(std::isnan(y[0]));
  sigmoid_forward<T>(2, x, y);
  EXPECT_TRUE(std::isnan(y[0]));
  tanh_forward<T>(2, x, y);
  EXPECT_TRUE(std::isnan(y[0]));
}

TEST(Activation, NegativeCountThrows) {
  float x = 0, y = 0;
  EXPECT_THROW(relu_forward<float>(-1, &x, &y), std::invalid_argument);
  EXPECT_THROW(sigmoid_backward<float>(-3, &x, &x, &y), std::invalid_argument);
}

// Finite-difference check in double. Loss L = Σ w_i·f(x_i) with random w, so
// ∂L/∂x_i = w_i·f'(x_i) is what backward(dy = w) must return. Central
// differences with h = 1e-6 are accurate to O(h²·f''') + O(ε/h) ≈ 1e-10;
// the tolerance is 1e-7·(1 + |g|).
using Forward = void (*)(int64_t, const double*, double*);
using Backward = void (*)(int64_t, const double*, const double*, double*);

void check_gradient(const char* name, Forward fwd, Backward bwd, bool backward_takes_output) {
  SCOPED_TRACE(name);
  const int64_t n = 33;
  const uint64_t seed = 0x5eed0000 + static_cast<uint64_t>(name[0]);
  SCOPED_TRACE("seed=" + std::to_string(seed));
  auto x = random_vector<double>(n, seed, -3, 3);
  for (double& v : x)  // keep away from relu's kink at 0
    if (std::fabs(v) < 0.05) v += 0.1;
  const auto w = random_vector<double>(n, seed + 1, -1, 1);
  std::vector<double> y(n), g(n);
  fwd(n, x.data(), y.data());
  bwd(n, backward_takes_output ? y.data() : x.data(), w.data(), g.data());
  const double h = 1e-6;
  for (int64_t i = 0; i < n; ++i) {
    double yp, ym;
    double xp = x[i] + h, xm = x[i] - h;
    fwd(1, &xp, &yp);
    fwd(1, &xm, &ym);
    const double numeric = w[i] * (yp - ym) / (2 * h);
    ASSERT_TRUE(std::fabs(numeric - g[i]) <= 1e-7 * (1 + std::fabs(g[i])))
        << "i=" << i << " x=" << x[i] << " analytic=" << g[i] << " numeric=" << numeric;
  }
}

TEST(Activation, GradientsMatchFiniteDifferences) {
  check_gradient("relu", relu_forward<double>, relu_backward<double>, false);
  check_gradient("tanh", tanh_forward<double>, tanh_backward<double>, true);
  check_gradient("sigmoid", sigmoid_forward<double>, sigmoid_backward<double>, true);
}

}  // namespace
}  // namespace gc::cpu
