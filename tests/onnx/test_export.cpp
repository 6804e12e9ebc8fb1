// gradcore export → ONNX Runtime: the logits of every preset and of a spec
// with strides, padding, dilation, average pooling, tanh, sigmoid and dropout
// agree with gradcore's own forward on 1000 MNIST test images, from float32
// input and, with --raw-input, from the uint8 pixels. Exports that must be
// refused are, by message.
#include <gtest/gtest.h>

#include <onnx/onnx_pb.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "infer/classifier.h"
#include "kernels/cpu/conv2d.h"
#include "layers/layers.h"
#include "layers/spec.h"
#include "serialize/model_store.h"
#include "serialize/onnx_export.h"
#include "tests/onnx/onnx_harness.h"

namespace gc::test {
namespace {

constexpr int64_t kImages = 1000;

class OnnxExport : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pixels_ = new std::vector<uint8_t>(mnist_test_pixels(kImages)); }
  static void TearDownTestSuite() { delete pixels_; }

  // A model of `spec` with seeded He weights, saved as <name>.gcm.
  std::filesystem::path save(const std::string& name, const std::string& spec) {
    auto model = build_model(spec);
    model->reset_parameters(7, "he");
    const auto path = dir_ / (name + ".gcm");
    save_model(path, *model, ModelInfo{});
    return path;
  }

  // Exports with `flags`, runs the export in ONNX Runtime and compares with
  // the Classifier's logits for the same images.
  void expect_same_logits(const std::filesystem::path& gcm, const std::string& flags) {
    SCOPED_TRACE(gcm.string() + " " + flags);
    const auto onnx = dir_ / (gcm.stem().string() + ".onnx");
    CliRun run = gradcore("export --model " + gcm.string() + " --out " + onnx.string() + " " + flags);
    ASSERT_EQ(run.exit_code, 0) << run.output;

    // gradcore's reference with direct convolution: ONNX Runtime sums each
    // output in one pass too, where our Winograd transforms round on their
    // own (up to 2.3e-5 apart on seed-cnn with auto).
    infer::Classifier classifier(gcm);
    std::vector<float> inputs(pixels_->size()), want(kImages * 10);
    classifier.normalise(pixels_->data(), kImages, inputs.data());
    cpu::set_conv_algo(cpu::ConvAlgo::direct);
    classifier.forward(inputs.data(), kImages, want.data());
    cpu::set_conv_algo(cpu::ConvAlgo::automatic);

    const bool raw = flags.find("--raw-input") != std::string::npos;
    OrtResult got = raw ? run_ort(onnx, *pixels_, kImages, dir_) : run_ort(onnx, inputs, kImages, dir_);
    ASSERT_EQ(got.exit_code, 0) << got.output;
    EXPECT_NE(got.output.find("logits 1000,10"), std::string::npos) << got.output;
    const double error = max_relative_error(got.values, want);
    EXPECT_LE(error, kLogitTolerance);
    std::printf("[ measured ] %s %s: max relative logit error %.3g\n", gcm.stem().c_str(), flags.c_str(), error);
  }

  std::filesystem::path dir_ = temp_dir("onnx-export");
  static std::vector<uint8_t>* pixels_;
};

std::vector<uint8_t>* OnnxExport::pixels_ = nullptr;

TEST_F(OnnxExport, PresetsGiveGradcoresLogitsInOnnxRuntime) {
  for (const std::string& preset : preset_names()) {
    const auto gcm = save(preset, preset);
    expect_same_logits(gcm, "");
    expect_same_logits(gcm, "--raw-input");
  }
}

// 28 → conv k3 s2 p1: 14 → conv k3 p2 d2: 14 → avgpool 2: 7 → maxpool 2 s1: 6.
TEST_F(OnnxExport, StridePaddingDilationAvgPoolTanhSigmoidAgreeAtEveryOpset) {
  const auto gcm = save("odd", "conv(1,8,3,2,1) tanh conv(8,6,3,1,2,2) sigmoid avgpool(2) maxpool(2,1) dropout(0.25) "
                               "flatten linear(216,32) tanh linear(32,10)");
  for (int opset : {11, 13, 17}) {
    expect_same_logits(gcm, "--opset " + std::to_string(opset));
    expect_same_logits(gcm, "--opset " + std::to_string(opset) + " --raw-input");
  }
}

// Kernels, strides, paddings and dilations that differ between the axes, and
// padded pooling (ONNX Runtime's average must count the padding, as ours):
// 28x28 → conv 3x5 s2x1 p1x2 d1x2: 14x24 → maxpool 3 s2 p1: 7x12 → conv 1x3 p0x1: 7x12
// → avgpool 2x3 s2x1 p1: 4x12.
TEST_F(OnnxExport, PerAxisWindowsAndPaddedPoolingAgree) {
  const auto gcm = save("axes", "conv(1,6,3x5,2x1,1x2,1x2) relu maxpool(3,2,1) conv(6,8,1x3,1,0x1) tanh "
                                "avgpool(2x3,2x1,1) flatten linear(384,10)");
  for (int opset : {11, 17}) expect_same_logits(gcm, "--opset " + std::to_string(opset));
}

TEST_F(OnnxExport, MetadataHoldsLabelsNameVersionAndPreprocessing) {
  auto model = build_model("mlp");
  model->reset_parameters(1, "he");
  ModelInfo info;
  info.name = "digits";
  info.version = 7;
  info.labels = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine, or 9"};
  ::onnx::ModelProto proto;
  ASSERT_TRUE(proto.ParseFromString(export_onnx(*model, info, {.opset = 13, .raw_input = true})));
  std::map<std::string, std::string> meta;
  for (const auto& entry : proto.metadata_props()) meta[entry.key()] = entry.value();
  EXPECT_EQ(meta["model.name"], "digits");
  EXPECT_EQ(meta["model.version"], "7");
  EXPECT_EQ(meta["model.architecture"], "flatten linear(784,64) relu linear(64,10)");
  EXPECT_EQ(nlohmann::json::parse(meta["labels"]).get<std::vector<std::string>>(), info.labels);
  EXPECT_EQ(std::stod(meta["input.mean"]), info.input_mean);
  EXPECT_EQ(std::stod(meta["input.std"]), info.input_std);
  EXPECT_EQ(std::stod(meta["input.scale"]), info.input_scale);
  EXPECT_EQ(proto.model_version(), 7);
  EXPECT_EQ(proto.producer_name(), "gradcore");
  EXPECT_EQ(proto.graph().input(0).name(), "pixels");
  EXPECT_EQ(proto.graph().input(0).type().tensor_type().elem_type(), ::onnx::TensorProto::UINT8);
  EXPECT_EQ(proto.graph().input(0).type().tensor_type().shape().dim(0).dim_param(), "N");
  EXPECT_EQ(proto.graph().output(0).name(), "logits");
}

// A layer without an ONNX equivalent (here one only this test knows).
struct Square : Module {
  Tensor forward(const Tensor& x) override { return x; }
  std::string spec() const override { return "square"; }
  std::string kind() const override { return "square"; }
};

TEST_F(OnnxExport, RefusesALayerWithoutOnnxEquivalentNamingIt) {
  Sequential model;
  model.add(std::make_unique<Flatten>());
  model.add(std::make_unique<Square>());
  try {
    export_onnx(model, ModelInfo{}, {});
    FAIL() << "exported a layer ONNX has no equivalent for";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("layer square1 'square' has no ONNX equivalent"), std::string::npos) << e.what();
  }
}

TEST_F(OnnxExport, RefusesAGraphTheCheckerRejectsAndWritesNothing) {
  // 10 labels but 5 outputs: the declared logits shape contradicts inference.
  auto model = build_model("flatten linear(784,5)");
  const auto onnx = dir_ / "five.onnx";
  try {
    save_onnx(onnx, *model, ModelInfo{}, {});
    FAIL() << "the checker accepted logits [N,5] declared as [N,10]";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("the ONNX checker rejects the graph"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(onnx));
}

TEST_F(OnnxExport, CliRefusesAnOpsetOutsideElevenToSeventeen) {
  const auto gcm = save("mlp-opset", "mlp");
  CliRun run = gradcore("export --model " + gcm.string() + " --out " + (dir_ / "x.onnx").string() + " --opset 18");
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.output.find("--opset"), std::string::npos) << run.output;
}

}  // namespace
}  // namespace gc::test
