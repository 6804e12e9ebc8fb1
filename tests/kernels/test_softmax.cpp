// log_softmax and fused softmax cross-entropy against long double references
// on odd shapes, logits of ±1e4, label validation, thread-count determinism,
// and central-difference checks of both backward formulas in double.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cpu/rng.h"
#include "kernels/cpu/softmax.h"

namespace gc::cpu {
namespace {

struct Shape {
  int64_t rows, cols;
};
// (40, 1000) and (5000, 10) are above the OpenMP thresholds.
const Shape kShapes[] = {{1, 1}, {1, 7}, {3, 7}, {33, 10}, {128, 10}, {7, 1000}, {40, 1000}, {5000, 10}};

template <typename T>
std::vector<T> random_vector(int64_t n, uint64_t seed, double scale) {
  Rng rng(seed);
  std::vector<T> v(n);
  for (T& x : v) x = static_cast<T>(rng.uniform(-scale, scale));
  return v;
}

std::vector<int32_t> random_labels(int64_t rows, int64_t cols, uint64_t seed) {
  Rng rng(seed);
  std::vector<int32_t> l(rows);
  for (int32_t& v : l) v = static_cast<int32_t>(rng.below(static_cast<uint64_t>(cols)));
  return l;
}

// log Σ_j exp(x_j) for one row, in long double.
template <typename T>
long double reference_log_sum_exp(int64_t cols, const T* x) {
  long double m = x[0];
  for (int64_t j = 1; j < cols; ++j) m = std::max<long double>(m, x[j]);
  long double s = 0;
  for (int64_t j = 0; j < cols; ++j) s += std::exp(static_cast<long double>(x[j]) - m);
  return m + std::log(s);
}

std::string describe(const Shape& s) { return std::to_string(s.rows) + "x" + std::to_string(s.cols); }

template <typename T>
class SoftmaxTest : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(SoftmaxTest, Types);

// Tolerance: y_j = x_j − lse; both terms carry a few ulps of max(|x|, log cols),
// so |y − ref| ≤ 8·u·(1 + max|x| + |ref|) with u the unit roundoff of T.
TYPED_TEST(SoftmaxTest, LogSoftmaxMatchesReference) {
  using T = TypeParam;
  const double u = std::numeric_limits<T>::epsilon() / 2;
  for (const Shape& s : kShapes) {
    SCOPED_TRACE(describe(s));
    const auto x = random_vector<T>(s.rows * s.cols, s.rows * 31 + s.cols, 5);
    const auto dy = random_vector<T>(s.rows * s.cols, s.rows * 37 + s.cols, 1);
    std::vector<T> y(x.size()), dx(x.size());
    log_softmax_forward(s.rows, s.cols, x.data(), y.data());
    log_softmax_backward(s.rows, s.cols, y.data(), dy.data(), dx.data());
    for (int64_t r = 0; r < s.rows; ++r) {
      const long double lse = reference_log_sum_exp(s.cols, x.data() + r * s.cols);
      long double dy_sum = 0;
      for (int64_t j = 0; j < s.cols; ++j) dy_sum += dy[r * s.cols + j];
      for (int64_t j = 0; j < s.cols; ++j) {
        const int64_t i = r * s.cols + j;
        const long double ref = x[i] - lse;
        ASSERT_TRUE(std::fabs(static_cast<double>(y[i] - ref)) <= 8 * u * (6 + std::fabs(static_cast<double>(ref))))
            << "r=" << r << " j=" << j << " got " << y[i] << " want " << static_cast<double>(ref);
        // dx = dy − softmax·Σdy; Σdy has up to cols terms of magnitude 1.
        const long double dref = dy[i] - std::exp(ref) * dy_sum;
        ASSERT_TRUE(std::fabs(static_cast<double>(dx[i] - dref)) <= 8 * u * (2 + s.cols))
            << "r=" << r << " j=" << j << " got " << dx[i] << " want " << static_cast<double>(dref);
      }
    }
  }
}

TYPED_TEST(SoftmaxTest, LogSoftmaxIsFiniteAndExactForHugeLogits) {
  using T = TypeParam;
  const T x[8] = {T(1e4), T(-1e4), T(0), T(-1e4),  //
                  T(1e4), T(-1e4), T(-1e4), T(-1e4)};
  T y[8];
  log_softmax_forward<T>(2, 4, x, y);
  // Row 0: the max term dominates, log Σ = 1e4 + log(1 + e^−1e4 + 2e^−2e4) = 1e4 exactly in T.
  EXPECT_EQ(y[0], T(0));
  EXPECT_EQ(y[1], T(-2e4));
  EXPECT_EQ(y[2], T(-1e4));
  EXPECT_EQ(y[3], T(-2e4));
  // Row 1: x_0 dominates; the three equal −1e4 logits sit 2e4 below it.
  EXPECT_EQ(y[4], T(0));
  for (int j = 5; j < 8; ++j) EXPECT_EQ(y[j], T(-2e4)) << j;
  // All equal: every entry is −log 4.
  const T same[4] = {T(-1e4), T(-1e4), T(-1e4), T(-1e4)};
  log_softmax_forward<T>(1, 4, same, y);
  for (int j = 0; j < 4; ++j) EXPECT_NEAR(y[j], -std::log(T(4)), 4 * std::numeric_limits<T>::epsilon());
}

// Loss reference: mean over rows of lse − x_label, in long double.
// Tolerance: 16·u·(1 + mean |x|-scale) for the loss, 8·u for probabilities and gradients.
TYPED_TEST(SoftmaxTest, CrossEntropyMatchesReference) {
  using T = TypeParam;
  const double u = std::numeric_limits<T>::epsilon() / 2;
  for (const Shape& s : kShapes) {
    SCOPED_TRACE(describe(s));
    const auto x = random_vector<T>(s.rows * s.cols, s.rows * 41 + s.cols, 5);
    const auto labels = random_labels(s.rows, s.cols, s.rows * 43 + s.cols);
    std::vector<T> probs(x.size(), T(-1)), grad(x.size());
    const T dloss = T(0.7);
    const T loss = softmax_cross_entropy_forward(s.rows, s.cols, x.data(), labels.data(), probs.data());
    softmax_cross_entropy_backward(s.rows, s.cols, probs.data(), labels.data(), dloss, grad.data());
    long double ref_loss = 0;
    for (int64_t r = 0; r < s.rows; ++r) {
      const long double lse = reference_log_sum_exp(s.cols, x.data() + r * s.cols);
      ref_loss += lse - x[r * s.cols + labels[r]];
      for (int64_t j = 0; j < s.cols; ++j) {
        const int64_t i = r * s.cols + j;
        const long double p = std::exp(x[i] - lse);
        ASSERT_TRUE(std::fabs(static_cast<double>(probs[i] - p)) <= 8 * u * (1 + s.cols * p)) << "r=" << r << " j=" << j;
        const long double g = dloss * (p - (j == labels[r] ? 1 : 0)) / s.rows;
        ASSERT_TRUE(std::fabs(static_cast<double>(grad[i] - g)) <= 8 * u * (1 + s.cols * p) / s.rows)
            << "r=" << r << " j=" << j << " got " << grad[i] << " want " << static_cast<double>(g);
      }
    }
    ref_loss /= s.rows;
    EXPECT_TRUE(std::fabs(static_cast<double>(loss - ref_loss)) <= 16 * u * (6 + std::fabs(static_cast<double>(ref_loss))))
        << "got " << loss << " want " << static_cast<double>(ref_loss);
  }
}

TYPED_TEST(SoftmaxTest, CrossEntropyIsFiniteAndCorrectForHugeLogits) {
  using T = TypeParam;
  // Row 0 is confidently right, row 1 confidently wrong by 2e4.
  const T x[6] = {T(1e4), T(-1e4), T(0), T(1e4), T(-1e4), T(0)};
  const int32_t labels[2] = {0, 1};
  T probs[6], grad[6];
  const T loss = softmax_cross_entropy_forward<T>(2, 3, x, labels, probs);
  EXPECT_EQ(loss, T(1e4));  // (0 + 2e4) / 2
  EXPECT_EQ(probs[0], T(1));
  EXPECT_EQ(probs[1], T(0));
  softmax_cross_entropy_backward<T>(2, 3, probs, labels, T(1), grad);
  const T want[6] = {T(0), T(0), T(0), T(0.5), T(-0.5), T(0)};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(grad[i], want[i]) << i;
}

TEST(Softmax, InPlaceGivesTheSameResult) {
  const int64_t rows = 5, cols = 9;
  const auto x = random_vector<float>(rows * cols, 17, 4);
  const auto labels = random_labels(rows, cols, 18);
  std::vector<float> y(x.size()), inplace = x;
  log_softmax_forward(rows, cols, x.data(), y.data());
  log_softmax_forward(rows, cols, inplace.data(), inplace.data());
  EXPECT_EQ(inplace, y);
  std::vector<float> probs(x.size());
  inplace = x;
  const float loss = softmax_cross_entropy_forward(rows, cols, x.data(), labels.data(), probs.data());
  const float loss_inplace = softmax_cross_entropy_forward(rows, cols, inplace.data(), labels.data(), inplace.data());
  EXPECT_EQ(loss, loss_inplace);
  EXPECT_EQ(inplace, probs);
}

TEST(Softmax, LabelsOutOfRangeThrowNamingRowAndLabel) {
  const float x[6] = {};
  float probs[6], grad[6];
  for (int32_t bad : {3, -1, 1000}) {
    const int32_t labels[2] = {0, bad};
    try {
      softmax_cross_entropy_forward<float>(2, 3, x, labels, probs);
      FAIL() << "label " << bad << " should throw";
    } catch (const std::invalid_argument& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("row 1"), std::string::npos) << msg;
      EXPECT_NE(msg.find("label " + std::to_string(bad)), std::string::npos) << msg;
    }
    EXPECT_THROW(softmax_cross_entropy_backward<float>(2, 3, probs, labels, 1.0f, grad), std::invalid_argument);
  }
  const int32_t ok[1] = {0};
  EXPECT_THROW(softmax_cross_entropy_forward<float>(0, 3, x, ok, probs), std::invalid_argument);
}

TEST(Softmax, CrossEntropyBitwiseSameForAnyThreadCount) {
  const int64_t rows = 5000, cols = 10;
  const auto x = random_vector<float>(rows * cols, 99, 8);
  const auto labels = random_labels(rows, cols, 98);
  std::vector<float> p1(x.size()), p2(x.size());
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const float one = softmax_cross_entropy_forward(rows, cols, x.data(), labels.data(), p1.data());
  omp_set_num_threads(2);
  const float two = softmax_cross_entropy_forward(rows, cols, x.data(), labels.data(), p2.data());
  omp_set_num_threads(saved);
  EXPECT_EQ(std::memcmp(&one, &two, sizeof one), 0) << one << " vs " << two;
  EXPECT_EQ(p1, p2);
}

// Finite differences in double, h = 1e-6: central differences are accurate to
// O(h²) + O(ε·|L|/h) ≈ 1e-10 here; tolerance 1e-7·(1 + |g|).
TEST(Softmax, LogSoftmaxBackwardMatchesFiniteDifferences) {
  const int64_t rows = 3, cols = 7;
  const uint64_t seed = 1234;
  SCOPED_TRACE("seed=" + std::to_string(seed));
  auto x = random_vector<double>(rows * cols, seed, 3);
  const auto w = random_vector<double>(rows * cols, seed + 1, 1);
  std::vector<double> y(x.size()), g(x.size());
  log_softmax_forward(rows, cols, x.data(), y.data());
  log_softmax_backward(rows, cols, y.data(), w.data(), g.data());
  auto loss = [&](const std::vector<double>& xs) {  // L = Σ w·log_softmax(x)
    std::vector<double> ys(xs.size());
    log_softmax_forward(rows, cols, xs.data(), ys.data());
    double l = 0;
    for (size_t i = 0; i < ys.size(); ++i) l += w[i] * ys[i];
    return l;
  };
  const double h = 1e-6;
  for (size_t i = 0; i < x.size(); ++i) {
    const double xi = x[i];
    x[i] = xi + h;
    const double lp = loss(x);
    x[i] = xi - h;
    const double lm = loss(x);
    x[i] = xi;
    const double numeric = (lp - lm) / (2 * h);
    ASSERT_TRUE(std::fabs(numeric - g[i]) <= 1e-7 * (1 + std::fabs(g[i])))
        << "i=" << i << " analytic=" << g[i] << " numeric=" << numeric;
  }
}

TEST(Softmax, CrossEntropyBackwardMatchesFiniteDifferences) {
  const int64_t rows = 4, cols = 5;
  const uint64_t seed = 4321;
  SCOPED_TRACE("seed=" + std::to_string(seed));
  auto x = random_vector<double>(rows * cols, seed, 3);
  const auto labels = random_labels(rows, cols, seed + 1);
  const double dloss = 1.3;
  std::vector<double> probs(x.size()), g(x.size());
  softmax_cross_entropy_forward(rows, cols, x.data(), labels.data(), probs.data());
  softmax_cross_entropy_backward(rows, cols, probs.data(), labels.data(), dloss, g.data());
  std::vector<double> scratch(x.size());
  const double h = 1e-6;
  for (size_t i = 0; i < x.size(); ++i) {
    const double xi = x[i];
    x[i] = xi + h;
    const double lp = dloss * softmax_cross_entropy_forward(rows, cols, x.data(), labels.data(), scratch.data());
    x[i] = xi - h;
    const double lm = dloss * softmax_cross_entropy_forward(rows, cols, x.data(), labels.data(), scratch.data());
    x[i] = xi;
    const double numeric = (lp - lm) / (2 * h);
    ASSERT_TRUE(std::fabs(numeric - g[i]) <= 1e-7 * (1 + std::fabs(g[i])))
        << "i=" << i << " analytic=" << g[i] << " numeric=" << numeric;
  }
}

}  // namespace
}  // namespace gc::cpu
