// Hooks on a small model. The order they fire in (engine/autograd.cpp):
//   1. forward hooks, layer by layer, as each layer's forward returns;
//   2. during backward, a hook on an intermediate tensor when the backward
//      reaches the op that produced it (output side first), and a
//      parameter's (leaf) hook as soon as the last op reading it has run
//      backward: fc2.weight, fc2.bias, relu1's output, fc1.weight, fc1.bias.
// Each fires exactly once per forward / backward.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/ops.h"
#include "layers/layers.h"
#include "layers/optimizer.h"
#include "layers/sequential.h"

namespace gc {
namespace {

std::unique_ptr<Sequential> small_model() {
  auto m = std::make_unique<Sequential>();
  m->add(std::make_unique<Linear>(4, 3));
  m->add(std::make_unique<ReLU>());
  m->add(std::make_unique<Linear>(3, 2));
  m->reset_parameters(7, "he");
  return m;
}

Tensor batch() {
  return Tensor::from_vector({2, 4}, std::vector<float>{0.5f, -1.0f, 2.0f, 0.1f, -0.3f, 0.8f, 1.5f, -2.0f});
}

const std::vector<int32_t> kLabels = {1, 0};

TEST(Hooks, FireOncePerPassInTheDocumentedOrder) {
  auto model = small_model();
  std::vector<std::string> fired;
  for (const auto& layer : model->layers())
    layer->register_forward_hook([&](const Module& m, const Tensor&) { fired.push_back("forward " + m.name()); });
  for (ParamRef p : model->parameters())
    p.tensor->register_hook([&fired, name = p.name](Tensor&) { fired.push_back("grad " + name); });

  for (int pass = 0; pass < 2; ++pass) {
    fired.clear();
    Tensor hidden = (*model->layers()[0])(batch());
    Tensor activated = (*model->layers()[1])(hidden);
    activated.register_hook([&](Tensor&) { fired.push_back("grad relu1 output"); });
    Tensor loss = softmax_cross_entropy((*model->layers()[2])(activated), kLabels);
    loss.backward();
    EXPECT_EQ(fired, (std::vector<std::string>{"forward fc1", "forward relu1", "forward fc2", "grad fc2.weight",
                                               "grad fc2.bias", "grad relu1 output", "grad fc1.weight",
                                               "grad fc1.bias"}))
        << "pass " << pass;
    for (ParamRef p : model->parameters()) p.tensor->zero_grad();
  }
}

// One SGD step (lr 0.1); with `halve_fc1` a hook halves fc1.weight's gradient.
std::vector<std::vector<double>> step_and_get_weights(bool halve_fc1, std::vector<double>* fc1_grad) {
  auto model = small_model();
  if (halve_fc1)
    model->parameters()[0].tensor->register_hook([](Tensor& g) {
      for (int64_t i = 0; i < g.numel(); ++i) g.data<float>()[i] *= 0.5f;
    });
  Sgd sgd(model->parameters(), 0.1, SgdOptions{});
  softmax_cross_entropy((*model)(batch()), kLabels).backward();
  *fc1_grad = model->parameters()[0].tensor->grad().to_doubles();
  sgd.step();
  std::vector<std::vector<double>> weights;
  for (ParamRef p : model->parameters()) weights.push_back(p.tensor->to_doubles());
  return weights;
}

TEST(Hooks, ModifyingHookChangesWhatTheOptimizerSees) {
  auto initial = small_model();
  std::vector<double> w0 = initial->parameters()[0].tensor->to_doubles();
  std::vector<double> g_plain, g_hooked;
  auto plain = step_and_get_weights(false, &g_plain);
  auto hooked = step_and_get_weights(true, &g_hooked);

  bool any_nonzero = false;
  for (size_t i = 0; i < w0.size(); ++i) {
    EXPECT_NEAR(g_hooked[i], 0.5 * g_plain[i], 1e-7);
    // SGD: w1 = w0 − lr·g, so the hooked step is half the plain one.
    EXPECT_NEAR(hooked[0][i] - w0[i], 0.5 * (plain[0][i] - w0[i]), 1e-6) << "fc1.weight element " << i;
    any_nonzero |= g_plain[i] != 0;
  }
  EXPECT_TRUE(any_nonzero) << "the test needs a non-zero fc1.weight gradient";
  for (size_t t = 1; t < plain.size(); ++t) EXPECT_EQ(plain[t], hooked[t]) << "tensor " << t << " must not change";
}

}  // namespace
}  // namespace gc
