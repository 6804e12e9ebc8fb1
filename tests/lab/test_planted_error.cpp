// The checker must catch wrong gradients: a test-only op y = x² recorded on
// the tape with gc::record, whose backward is right or carries a planted error.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "engine/autograd.h"
#include "engine/gradcheck.h"
#include "engine/ops.h"

namespace gc {
namespace {

// y = x² elementwise; backward returns 2x·g·(1 + relative_error), plus
// `nan_at` ≥ 0 turns that one element's gradient into NaN.
Tensor planted_square(const Tensor& x, double relative_error, int64_t nan_at = -1) {
  Tensor y = Tensor::empty(x.shape(), DType::F64);
  for (int64_t i = 0; i < x.numel(); ++i) y.data<double>()[i] = x.data<double>()[i] * x.data<double>()[i];
  return record("planted_square", {x}, y, [x, relative_error, nan_at](const Tensor& g) {
    Tensor gx = Tensor::empty(x.shape(), DType::F64);
    for (int64_t i = 0; i < x.numel(); ++i)
      gx.data<double>()[i] = 2 * x.data<double>()[i] * g.data<double>()[i] * (1 + relative_error);
    if (nan_at >= 0) gx.data<double>()[nan_at] = std::numeric_limits<double>::quiet_NaN();
    return std::vector<Tensor>{gx};
  });
}

Tensor input() {
  Tensor x = Tensor::from_vector({2, 3}, std::vector<double>{0.3, -1.2, 0.7, 2.0, -0.4, 1.1});
  x.requires_grad_().set_name("x");
  return x;
}

GradcheckResult check(double relative_error, int64_t nan_at = -1) {
  Tensor x = input();
  // Through a real op after the planted one, so the error has to travel the tape.
  auto loss = [&] { return sum(tanh(planted_square(x, relative_error, nan_at))); };
  auto results = gradcheck(loss, {x}, {.step = 1e-6, .atol = 1e-8, .rtol = 1e-6});
  EXPECT_EQ(results.size(), 1u);
  return results.at(0);
}

TEST(PlantedError, CorrectBackwardPasses) {
  GradcheckResult r = check(0.0);
  EXPECT_TRUE(r.passed) << r.max_abs_error;
  EXPECT_EQ(r.checked, 6);
  EXPECT_LT(r.max_rel_error, 1e-7);
}

TEST(PlantedError, OnePercentErrorIsCaught) {
  GradcheckResult r = check(0.01);
  EXPECT_FALSE(r.passed);
  EXPECT_NEAR(r.max_rel_error, 0.01 / 1.01, 1e-6);  // |a − n| / max(|a|, |n|) with a = 1.01·n
  EXPECT_NEAR(r.worst_analytic, 1.01 * r.worst_numeric, 1e-6 * std::fabs(r.worst_numeric));
}

TEST(PlantedError, TinyErrorAboveToleranceIsCaught) {
  EXPECT_FALSE(check(1e-4).passed);
}

TEST(PlantedError, NaNGradientIsCaught) {
  GradcheckResult r = check(0.0, 4);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.worst_index, 4);
  EXPECT_TRUE(std::isnan(r.max_abs_error));
}

}  // namespace
}  // namespace gc
