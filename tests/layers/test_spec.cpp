// Model specs, presets, parameter naming and counts.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "layers/layers.h"
#include "layers/spec.h"

namespace gc {
namespace {

TEST(Spec, SeedCnnHasTheDocumentedParameterCount) {
  auto model = build_model("seed-cnn");
  EXPECT_EQ(model->parameter_count(), 93322);
  std::vector<std::string> names;
  for (ParamRef p : model->parameters()) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "conv3.weight",
                                             "conv3.bias", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}));
  EXPECT_EQ(check_model_input(*model, {1, 28, 28}), (Shape{1, 10}));
}

// Sequential runs "relu maxpool" as maxpool then relu unless a hook watches
// either layer (layers/sequential.h): the loss and every gradient must be the
// same both ways (compared with ==, so a zero's sign may differ), on inputs
// with many ties at zero and many all-negative pool windows.
TEST(Sequential, ReluMaxpoolSwapGivesTheSameLossAndGradients) {
  auto run = [](bool observed) {
    auto model = build_model("conv(2,4,3) relu maxpool(2) conv(4,3,3,1,1) relu maxpool(2,1) flatten linear(12,5)");
    model->reset_parameters(3, "he");
    if (observed)
      for (const auto& layer : model->layers()) layer->register_forward_hook([](const Module&, const Tensor&) {});
    std::vector<float> values(3 * 2 * 9 * 9);
    for (size_t i = 0; i < values.size(); ++i) values[i] = (i % 5 == 0) ? 0.0f : float(std::sin(0.7 * double(i)));
    Tensor x = Tensor::from_vector({3, 2, 9, 9}, values);
    Tensor loss = sum(model->forward(x));
    loss.backward();
    std::vector<std::vector<double>> out{loss.to_doubles()};
    for (ParamRef p : model->parameters()) out.push_back(p.tensor->grad().to_doubles());
    return out;
  };
  const auto swapped = run(false), in_order = run(true);
  ASSERT_EQ(swapped.size(), in_order.size());
  for (size_t t = 0; t < swapped.size(); ++t) EXPECT_EQ(swapped[t], in_order[t]) << "tensor " << t;
}

// Under no-grad, "conv relu maxpool" (in either order) runs as one
// conv2d_pool_relu pass (layers/sequential.h): the output must be that op's,
// bit for bit, and the three separate ops' to rounding. With a hook on a
// layer the three ops run, and the output is theirs, bit for bit.
TEST(Sequential, ConvReluMaxpoolRunsFusedForInference) {
  struct Case {
    const char* spec;
    Shape input;
  };
  const Case cases[] = {
      {"conv(2,4,3) relu maxpool(2) flatten", {3, 2, 11, 9}},   // the direct kernel
      {"conv(2,4,3) maxpool(2) relu flatten", {3, 2, 11, 9}},
      {"conv(8,9,3) relu maxpool(2) flatten", {16, 8, 13, 13}},  // Winograd's pooled output transform
      {"conv(3,4,5,1,2) relu maxpool(2) flatten", {2, 3, 9, 9}},  // conv, pool and ReLU in turn
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.spec);
    auto model = build_model(c.spec);
    model->reset_parameters(5, "he");
    model->set_training_mode(false);
    std::vector<float> values(c.input.numel());
    for (size_t i = 0; i < values.size(); ++i) values[i] = float(std::sin(0.37 * double(i)));
    Tensor x = Tensor::from_vector(c.input, values);
    const auto& conv = static_cast<const Conv2d&>(*model->layers()[0]);

    NoGradGuard no_grad;
    const auto fused = model->forward(x).to_doubles();
    const auto op = conv2d_pool_relu(x, conv.weight, conv.bias, conv.options()).flatten().to_doubles();
    const auto separate = relu(max_pool2d(conv2d(x, conv.weight, conv.bias, conv.options()))).flatten().to_doubles();
    EXPECT_EQ(fused, op);
    ASSERT_EQ(fused.size(), separate.size());
    for (size_t i = 0; i < fused.size(); ++i) EXPECT_NEAR(fused[i], separate[i], 1e-5) << "element " << i;

    model->layers()[1]->register_forward_hook([](const Module&, const Tensor&) {});
    EXPECT_EQ(model->forward(x).to_doubles(), separate);
  }
}

TEST(Spec, EveryPresetFitsMnistAndRoundTripsThroughItsSpec) {
  for (const std::string& name : preset_names()) {
    auto model = build_model(name);
    EXPECT_EQ(check_model_input(*model, {1, 28, 28}), (Shape{1, 10})) << name;
    auto rebuilt = build_model(model->spec());
    EXPECT_EQ(rebuilt->spec(), model->spec()) << name;
  }
  EXPECT_EQ(build_model("mlp")->parameter_count(), 784 * 64 + 64 + 64 * 10 + 10);
}

// build_model's error for `spec`, or "no error".
std::string spec_error(const std::string& spec) {
  try {
    build_model(spec);
  } catch (const std::invalid_argument& e) {
    return std::string(e.what());
  }
  return std::string("no error");
}

TEST(Spec, BadSpecsNameTheToken) {
  EXPECT_NE(spec_error("seed-cn").find("unknown layer 'seed-cn'"), std::string::npos) << spec_error("seed-cn");
  EXPECT_NE(spec_error("conv(1,2) relu").find("token 1 'conv(1,2)'"), std::string::npos) << spec_error("conv(1,2) relu");
  EXPECT_NE(spec_error("relu linear(a,3)").find("token 2"), std::string::npos);
  EXPECT_NE(spec_error("dropout(1.5)").find("dropout"), std::string::npos);
  EXPECT_NE(spec_error("").find("empty"), std::string::npos);
  EXPECT_NE(spec_error("conv(1,2,3").find("missing ')'"), std::string::npos);
}

// conv's optional sixth argument is the dilation: a 3×3 kernel with dilation
// 2 spans 5×5 and gives conv2d's output.
TEST(Spec, ConvTakesADilation) {
  auto model = build_model("conv(1,2,3,1,1,2) relu");
  EXPECT_EQ(model->spec(), "conv(1,2,3,1,1,2) relu");
  EXPECT_EQ(build_model("conv(1,2,3,2,0)")->spec(), "conv(1,2,3,2,0)");
  EXPECT_EQ(check_model_input(*model, {1, 9, 9}), (Shape{1, 2, 7, 7}));
  model->reset_parameters(3, "he");
  const auto& conv = static_cast<const Conv2d&>(*model->layers()[0]);
  Tensor x = Tensor::from_vector({1, 1, 9, 9}, std::vector<float>(81, 0.5f));
  NoGradGuard no_grad;
  EXPECT_TRUE(conv.options().dilation == 2);
  EXPECT_EQ(model->forward(x).to_doubles(),
            relu(conv2d(x, conv.weight, conv.bias, {.stride = 1, .padding = 1, .dilation = 2})).to_doubles());
  try {
    build_model("conv(1,2,3,1,0,0)");
    FAIL() << "dilation 0 accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("stride and dilation must be ≥ 1"), std::string::npos) << e.what();
  }
}

TEST(Spec, MismatchedLayersAreReportedAtTheLayer) {
  auto model = build_model("flatten linear(100,10)");
  try {
    check_model_input(*model, {1, 28, 28});
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("fc1"), std::string::npos) << e.what();
  }
}

TEST(Spec, InitIsSeededAndScaled) {
  auto a = build_model("seed-cnn"), b = build_model("seed-cnn"), c = build_model("seed-cnn");
  a->reset_parameters(7, "he");
  b->reset_parameters(7, "he");
  c->reset_parameters(8, "he");
  auto wa = a->parameters()[0].tensor->to_doubles(), wb = b->parameters()[0].tensor->to_doubles(),
       wc = c->parameters()[0].tensor->to_doubles();
  EXPECT_EQ(wa, wb);
  EXPECT_NE(wa, wc);
  // He: variance 2 / fan_in for conv3 (fan_in = 64·9).
  auto w3 = a->parameters()[4].tensor->to_doubles();
  double var = 0;
  for (double v : w3) var += v * v;
  var /= static_cast<double>(w3.size());
  EXPECT_NEAR(var, 2.0 / (64 * 9), 0.1 * 2.0 / (64 * 9));
  EXPECT_THROW(a->reset_parameters(1, "lecun"), std::invalid_argument);
}

TEST(Spec, DropoutIsIdentityInEvalMode) {
  auto model = build_model("flatten dropout(0.5) linear(4,2)");
  model->reset_parameters(1, "xavier");
  Tensor x = Tensor::full({3, 4}, 1.0);
  model->set_training_mode(false);
  auto eval1 = (*model)(x).to_doubles();
  auto eval2 = (*model)(x).to_doubles();
  EXPECT_EQ(eval1, eval2);
  model->set_training_mode(true);
  EXPECT_NE((*model)(x).to_doubles(), eval1);
}

// Every window argument may be HxW: the layer runs conv2d and the pooling
// with those per-axis sizes, and its spec gives the same text back.
TEST(Spec, WindowsMayDifferBetweenTheAxes) {
  const std::string spec = "conv(1,2,3x5,2x1,1x2,1x2) maxpool(3,2,1) avgpool(2x3,2x1,1x0)";
  auto model = build_model(spec);
  EXPECT_EQ(model->spec(), spec);
  EXPECT_EQ(build_model("maxpool(2x2,2,0)")->spec(), "maxpool(2)");
  model->reset_parameters(5, "he");
  const auto& conv = static_cast<const Conv2d&>(*model->layers()[0]);
  EXPECT_EQ(conv.weight.shape(), (Shape{2, 1, 3, 5}));
  std::vector<float> pixels(2 * 11 * 13);
  for (size_t k = 0; k < pixels.size(); ++k) pixels[k] = static_cast<float>((k * 37) % 19) - 9.0f;
  Tensor x = Tensor::from_vector({2, 1, 11, 13}, pixels);
  NoGradGuard no_grad;
  Tensor h = conv2d(x, conv.weight, conv.bias, {.stride = {2, 1}, .padding = {1, 2}, .dilation = {1, 2}});
  h = max_pool2d(h, {.kernel = 3, .stride = 2, .padding = 1});
  h = avg_pool2d(h, {.kernel = {2, 3}, .stride = {2, 1}, .padding = {1, 0}});
  EXPECT_EQ(model->forward(x).shape(), h.shape());
  EXPECT_EQ(model->forward(x).to_doubles(), h.to_doubles());
}

TEST(Spec, WindowArgumentsAreCheckedByToken) {
  EXPECT_EQ(spec_error("relu conv(1,2,3y5)"),
            "spec: token 2 'conv(1,2,3y5)': argument '3y5' is not N or HxW with integers from 0 to 1000000");
  EXPECT_EQ(spec_error("conv(1x2,2,3)"), "spec: token 1 'conv(1x2,2,3)': argument '1x2' is not an integer from 0 to 1000000");
  EXPECT_EQ(spec_error("maxpool(3,1,2)"), "spec: token 1 'maxpool(3,1,2)': padding must be at most half the kernel");
  EXPECT_EQ(spec_error("avgpool(2x0)"), "spec: token 1 'avgpool(2x0)': sizes must be ≥ 1");
  EXPECT_EQ(spec_error("conv(1,2,3,1x0,0)"), "spec: token 1 'conv(1,2,3,1x0,0)': stride and dilation must be ≥ 1");
}

}  // namespace
}  // namespace gc
