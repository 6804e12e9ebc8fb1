// Optimizer wiring (the update formulas are tested at the kernel level) and
// learning-rate schedules.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/ops.h"
#include "layers/optimizer.h"
#include "layers/schedule.h"

namespace gc {
namespace {

TEST(Optimizer, SgdStepsDownhillAndSkipsParametersWithoutGrad) {
  Tensor w = Tensor::from_vector({2}, std::vector<float>{1.0f, -2.0f});
  Tensor unused = Tensor::from_vector({1}, std::vector<float>{5.0f});
  w.requires_grad_();
  unused.requires_grad_();
  Sgd sgd({{"w", &w}, {"unused", &unused}}, 0.1, {});
  sum(mul(w, w)).backward();  // grad 2w
  sgd.step();
  EXPECT_EQ(w.to_doubles(), (std::vector<double>{1.0f - 0.1f * 2.0f, -2.0f + 0.1f * 4.0f}));
  EXPECT_EQ(unused.to_doubles(), (std::vector<double>{5.0}));
  sgd.zero_grad();
  EXPECT_FALSE(w.grad().defined());
}

TEST(Optimizer, AdamStateRoundTripsAndIsChecked) {
  Tensor w = Tensor::from_vector({3}, std::vector<float>{1, 2, 3});
  w.requires_grad_();
  auto adam = make_optimizer("adam", {{"w", &w}}, 1e-2);
  for (int i = 0; i < 3; ++i) {
    sum(mul(w, w)).backward();
    adam->step();
    adam->zero_grad();
  }
  OptimizerState s = adam->state();
  EXPECT_EQ(s.kind, "adam");
  EXPECT_EQ(s.step, 3);
  ASSERT_EQ(s.buffers.size(), 2u);

  // Two copies continue identically after a state transfer.
  Tensor w2 = w.clone();
  w2.requires_grad_();
  auto adam2 = make_optimizer("adam", {{"w", &w2}}, 1e-2);
  adam2->load_state(s);
  for (auto [p, opt] : {std::pair{&w, adam.get()}, std::pair{&w2, adam2.get()}}) {
    sum(mul(*p, *p)).backward();
    opt->step();
  }
  EXPECT_EQ(w.to_doubles(), w2.to_doubles());

  auto sgd = make_optimizer("sgd", {{"w", &w}}, 0.1);
  EXPECT_THROW(sgd->load_state(s), std::invalid_argument);
  s.buffers[0].second = Tensor::zeros({4});
  EXPECT_THROW(adam2->load_state(s), std::invalid_argument);
  EXPECT_THROW(make_optimizer("rmsprop", {}, 0.1), std::invalid_argument);
}

TEST(Schedule, Shapes) {
  Schedule c = make_schedule("cosine", 1.0, 100);
  EXPECT_DOUBLE_EQ(c.lr_at(0), 1.0);
  EXPECT_NEAR(c.lr_at(50), 0.5, 1e-12);
  EXPECT_NEAR(c.lr_at(100), 0.0, 1e-12);
  Schedule s = make_schedule("step", 1.0, 90);
  EXPECT_DOUBLE_EQ(s.lr_at(29), 1.0);
  EXPECT_DOUBLE_EQ(s.lr_at(30), 0.1);
  Schedule o = make_schedule("onecycle", 1.0, 100);
  EXPECT_NEAR(o.lr_at(0), 1.0 / 25, 1e-12);
  EXPECT_NEAR(o.lr_at(30), 1.0, 1e-12);  // warm-up ends at 30%
  EXPECT_LT(o.lr_at(99), 1e-3);
  EXPECT_THROW(make_schedule("linear", 1.0, 10), std::invalid_argument);
}

}  // namespace
}  // namespace gc
