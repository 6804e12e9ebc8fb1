// Autograd semantics: accumulation on reuse, diamonds, no-grad, detach,
// freed graphs, hooks.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/autograd.h"
#include "engine/ops.h"

namespace gc {
namespace {

Tensor leaf(const std::vector<double>& values, Shape shape) {
  Tensor t = Tensor::from_vector(shape, values);
  t.requires_grad_();
  return t;
}

TEST(Autograd, ReuseAccumulates) {
  Tensor x = leaf({3.0}, {1});
  sum(mul(x, x)).backward();  // d(x²)/dx = 2x
  EXPECT_DOUBLE_EQ(x.grad().item(), 6.0);
}

TEST(Autograd, DiamondAccumulatesBothPaths) {
  // a → b = 2a, c = a², d = b·c = 2a³ → dd/da = 6a²
  Tensor a = leaf({2.0, -1.0}, {2});
  Tensor b = scale(a, 2.0);
  Tensor c = mul(a, a);
  sum(mul(b, c)).backward();
  auto g = a.grad().to_doubles();
  EXPECT_DOUBLE_EQ(g[0], 24.0);
  EXPECT_DOUBLE_EQ(g[1], 6.0);
}

TEST(Autograd, GradAccumulatesAcrossBackwardsUntilZeroed) {
  Tensor x = leaf({1.0, 2.0}, {2});
  sum(x).backward();
  sum(scale(x, 3.0)).backward();
  EXPECT_EQ(x.grad().to_doubles(), (std::vector<double>{4.0, 4.0}));
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
}

TEST(Autograd, NoGradGuardRecordsNothing) {
  Tensor x = leaf({1.0}, {1});
  {
    NoGradGuard guard;
    Tensor y = mul(x, x);
    EXPECT_EQ(y.grad_fn(), nullptr);
    EXPECT_THROW(sum(y).backward(), std::logic_error);
  }
  EXPECT_NE(mul(x, x).grad_fn(), nullptr);
}

TEST(Autograd, DetachCutsTheGraphButSharesMemory) {
  Tensor x = leaf({2.0}, {1});
  Tensor y = mul(x, x);
  Tensor d = y.detach();
  EXPECT_EQ(d.grad_fn(), nullptr);
  EXPECT_EQ(d.raw_data(), y.raw_data());
  sum(mul(d, x)).backward();  // d is a constant 4 → grad 4
  EXPECT_DOUBLE_EQ(x.grad().item(), 4.0);
}

TEST(Autograd, SecondBackwardOnFreedGraphIsAClearError) {
  Tensor x = leaf({1.0, 2.0}, {2});
  Tensor loss = sum(mul(x, x));
  loss.backward();
  try {
    loss.backward();
    FAIL() << "expected an error";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("freed"), std::string::npos) << e.what();
  }
}

TEST(Autograd, BackwardNeedsAScalar) {
  Tensor x = leaf({1.0, 2.0}, {2});
  EXPECT_THROW(mul(x, x).backward(), std::invalid_argument);
}

TEST(Autograd, NodesRecordOpInputsAndShape) {
  Tensor x = leaf({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor w = leaf({1, 2, 3}, {1, 3});
  Tensor y = linear(x, w, Tensor());
  ASSERT_NE(y.grad_fn(), nullptr);
  EXPECT_EQ(y.grad_fn()->op, "linear");
  EXPECT_EQ(y.grad_fn()->output_shape, (Shape{2, 1}));
  EXPECT_EQ(y.grad_fn()->inputs.size(), 3u);
  auto order = topological_order(sum(relu(y)));
  ASSERT_EQ(order.size(), 3u);
  EXPECT_EQ(order[0]->op, "linear");
  EXPECT_EQ(order[2]->op, "sum");
}

TEST(Autograd, HooksFireOncePerBackwardInOrderAndCanModify) {
  Tensor x = leaf({1.0, 2.0}, {2});
  Tensor h = scale(x, 3.0);
  std::vector<std::string> fired;
  h.register_hook([&](Tensor&) { fired.push_back("h"); });
  x.register_hook([&](Tensor& g) {
    fired.push_back("x");
    g.fill_(7.0);  // what the optimizer will see
  });
  sum(h).backward();
  EXPECT_EQ(fired, (std::vector<std::string>{"h", "x"}));
  EXPECT_EQ(x.grad().to_doubles(), (std::vector<double>{7.0, 7.0}));
}

TEST(Autograd, ModifyingHookDoesNotCorruptSiblingGradients) {
  // add's backward hands the same gradient to both inputs.
  Tensor a = leaf({1.0}, {1});
  Tensor b = leaf({1.0}, {1});
  a.register_hook([](Tensor& g) { g.fill_(100.0); });
  sum(add(a, b)).backward();
  EXPECT_DOUBLE_EQ(a.grad().item(), 100.0);
  EXPECT_DOUBLE_EQ(b.grad().item(), 1.0);
}

TEST(Autograd, ShapeErrorsNameTheOpAndBothShapes) {
  Tensor a = Tensor::zeros({2, 3});
  Tensor b = Tensor::zeros({4, 5});
  try {
    matmul(a, b);
    FAIL();
  } catch (const std::invalid_argument& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("matmul"), std::string::npos) << m;
    EXPECT_NE(m.find("[2, 3]"), std::string::npos) << m;
    EXPECT_NE(m.find("[4, 5]"), std::string::npos) << m;
  }
  EXPECT_THROW(add(Tensor::zeros({2, 3}), Tensor::zeros({4})), std::invalid_argument);
  EXPECT_THROW(conv2d(Tensor::zeros({1, 2, 5, 5}), Tensor::zeros({3, 1, 3, 3}), Tensor()), std::invalid_argument);
  EXPECT_THROW(conv2d(Tensor::zeros({1, 1, 2, 2}), Tensor::zeros({1, 1, 3, 3}), Tensor()), std::invalid_argument);
  EXPECT_THROW(max_pool2d(Tensor::zeros({1, 1, 1, 1}), {.kernel = 2}), std::invalid_argument);
  std::vector<int32_t> labels = {0};
  EXPECT_THROW(softmax_cross_entropy(Tensor::zeros({2, 10}), labels), std::invalid_argument);
  std::vector<int32_t> bad = {10};
  EXPECT_THROW(softmax_cross_entropy(Tensor::zeros({1, 10}), bad), std::invalid_argument);
}

TEST(Autograd, CrossEntropyStableForHugeLogits) {
  std::vector<float> logits = {1e4f, -1e4f, 0.0f, -1e4f, 1e4f, 1e4f};
  Tensor x = Tensor::from_vector({2, 3}, logits);
  x.requires_grad_();
  std::vector<int32_t> labels = {0, 0};
  Tensor loss = softmax_cross_entropy(x, labels);
  // row 0: label has the max → −log(1) = 0; row 1: label is 2e4 below the two maxima → 2e4 + log 2
  EXPECT_NEAR(loss.item(), (0.0 + 2e4 + std::log(2.0)) / 2, 1e-2);
  loss.backward();
  for (double g : x.grad().to_doubles()) EXPECT_TRUE(std::isfinite(g));
}

}  // namespace
}  // namespace gc
