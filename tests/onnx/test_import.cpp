// gradcore import: PyTorch models (tests/onnx/torch_models.py, exported by
// torch.onnx.export at opsets 11, 13, 17 while the test runs) give PyTorch's
// logits and predictions on 1000 MNIST test images; gradcore's own exports
// come back with bit-identical weights; Gemm's transB, alpha and beta are
// honoured; every malformed or unsupported graph is refused by message.
#include <gtest/gtest.h>

#include <onnx/onnx_pb.h>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "infer/classifier.h"
#include "layers/spec.h"
#include "serialize/onnx_export.h"
#include "serialize/onnx_import.h"
#include "serialize/onnx_load.h"
#include "tests/onnx/onnx_harness.h"

namespace gc::test {
namespace {

constexpr int64_t kImages = 1000;

LoadedModel import_string(const std::string& bytes, const std::string& source) {
  return model_from_file(onnx_to_model_file(std::as_bytes(std::span(bytes.data(), bytes.size())), source), source);
}

std::vector<int> argmax_rows(const std::vector<float>& logits, int classes) {
  std::vector<int> labels;
  for (size_t r = 0; r + classes <= logits.size(); r += classes)
    labels.push_back(static_cast<int>(std::max_element(logits.begin() + r, logits.begin() + r + classes) -
                                      logits.begin() - r));
  return labels;
}

std::vector<float> read_floats(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<float> v(bytes.size() / sizeof(float));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

// The model's logits for normalised inputs, through the Classifier.
std::vector<float> forward(LoadedModel loaded, const std::vector<float>& inputs) {
  infer::Classifier classifier(std::move(loaded));
  std::vector<float> logits(inputs.size() / 784 * classifier.classes());
  classifier.forward(inputs.data(), static_cast<int64_t>(inputs.size() / 784), logits.data());
  return logits;
}

TEST(OnnxImport, TorchModelsGiveTorchsLogitsAtOpsets11To17) {
  const auto dir = temp_dir("onnx-import-torch");
  const std::vector<uint8_t> pixels = mnist_test_pixels(kImages);
  std::vector<float> inputs(pixels.size());
  for (size_t k = 0; k < pixels.size(); ++k) inputs[k] = static_cast<float>((pixels[k] / 255.0 - 0.1307) / 0.3081);
  write_values(dir / "inputs.bin", inputs);
  const std::string command = "/usr/bin/python3 " GRADCORE_SOURCE_DIR "/tests/onnx/torch_models.py " + dir.string() +
                              " " + (dir / "inputs.bin").string() + " " + std::to_string(kImages) + " 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;

  for (const char* name : {"seed-cnn", "lenet5", "odd", "axes"}) {
    const std::vector<float> want = read_floats(dir / (std::string(name) + ".logits.bin"));
    ASSERT_EQ(want.size(), size_t(kImages * 10)) << name;
    for (int opset : {11, 13, 17}) {
      const std::string stem = std::string(name) + "-opset" + std::to_string(opset);
      SCOPED_TRACE(stem);
      const auto onnx = dir / (stem + ".onnx"), gcm = dir / (stem + ".gcm");
      CliRun run = gradcore("import " + onnx.string() + " --out " + gcm.string());
      ASSERT_EQ(run.exit_code, 0) << run.output;
      const std::vector<float> got = forward(load_model(gcm), inputs);
      const double error = max_relative_error(got, want);
      EXPECT_LE(error, kLogitTolerance);
      EXPECT_EQ(argmax_rows(got, 10), argmax_rows(want, 10));
      std::printf("[ measured ] %s: max relative logit error vs PyTorch %.3g\n", stem.c_str(), error);
      // Opened directly, the .onnx is the same model.
      EXPECT_EQ(forward(load_model_or_onnx(onnx), inputs), got);
      LoadedModel imported = load_model(gcm);
      EXPECT_EQ(imported.info.origin.format, "onnx");
      EXPECT_EQ(imported.info.origin.opset, opset);
      EXPECT_EQ(imported.info.origin.producer.rfind("pytorch 1.13", 0), 0u) << imported.info.origin.producer;
      // inspect shows what the .onnx imports as: the same architecture.
      CliRun inspect = gradcore("inspect " + onnx.string());
      EXPECT_EQ(inspect.exit_code, 0) << inspect.output;
      EXPECT_NE(inspect.output.find("ONNX model, imported as"), std::string::npos) << inspect.output;
      EXPECT_NE(inspect.output.find("architecture: " + imported.model->spec() + "\n"), std::string::npos)
          << inspect.output;
    }
  }
  // The per-axis network keeps its per-axis windows (PyTorch writes its
  // AvgPool2d padding as a Pad node, which the pool takes).
  EXPECT_EQ(load_model(dir / "axes-opset17.gcm").model->spec(),
            "conv(1,6,3x5,2x1,1x2,1x2) relu maxpool(3,2,1) conv(6,8,1x3,1,0x1) tanh avgpool(2x3,2x1,1) flatten "
            "linear(384,10)");
}

// train --init-from an .onnx file fine-tunes its weights; the saved model
// still says where it came from.
TEST(OnnxImport, TrainCanStartFromAnOnnxModel) {
  const auto dir = temp_dir("onnx-init-from");
  auto model = build_model("mlp");
  model->reset_parameters(4, "he");
  save_onnx(dir / "start.onnx", *model, ModelInfo{}, {});
  const std::string data = std::filesystem::path(mnist_dir_file("x")).parent_path().string();
  CliRun run = gradcore("train --init-from " + (dir / "start.onnx").string() + " --epochs 1 --train-limit 512 " +
                        "--test-limit 256 --batch 64 --data " + data + " --out " + (dir / "tuned.gcm").string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  LoadedModel tuned = load_model(dir / "tuned.gcm");
  EXPECT_EQ(tuned.model->spec(), model->spec());
  EXPECT_EQ(tuned.info.origin.format, "onnx");
  EXPECT_EQ(tuned.info.origin.file, (dir / "start.onnx").string());
  EXPECT_NE(tuned.model->parameters()[0].tensor->to_doubles(), model->parameters()[0].tensor->to_doubles());
  run = gradcore("train --init-from " + (dir / "start.onnx").string() + " --resume " + (dir / "tuned.ckpt.gcm").string());
  EXPECT_NE(run.output.find("give one of them"), std::string::npos) << run.output;
}

// serve --model x.onnx answers over TCP with the classes the model gives
// in-process.
TEST(OnnxImport, ServerServesAnOnnxFile) {
  const auto dir = temp_dir("onnx-serve");
  auto model = build_model("lenet5");
  model->reset_parameters(6, "he");
  const auto onnx = dir / "served.onnx", log = dir / "serve.log", pid = dir / "serve.pid";
  save_onnx(onnx, *model, ModelInfo{}, {});
  const std::string start = std::string(GRADCORE_BINARY) + " serve --model " + onnx.string() + " --port 0 > " +
                            log.string() + " 2>&1 & echo $! > " + pid.string();
  ASSERT_EQ(std::system(start.c_str()), 0);
  std::string text, port;
  for (int tries = 0; tries < 200 && port.empty(); ++tries) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::ifstream in(log);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (size_t at = text.find(" port="); at != std::string::npos && text.find(" model=", at) != std::string::npos)
      port = text.substr(at + 6, text.find(' ', at + 6) - at - 6);
  }
  // The first five test digits as one IDX file (the count is byte 7 of the header).
  std::ifstream all(mnist_dir_file("t10k-images-idx3-ubyte"), std::ios::binary);
  std::string head(16 + 5 * 784, '\0');
  all.read(head.data(), static_cast<std::streamsize>(head.size()));
  head[4] = head[5] = head[6] = 0;
  head[7] = 5;
  const auto images = dir / "five-idx3-ubyte";
  std::ofstream(images, std::ios::binary) << head;
  CliRun answer = port.empty() ? CliRun{-1, text} : gradcore("client --port " + port + " predict " + images.string());
  std::ifstream pid_file(pid);
  long server = 0;
  pid_file >> server;
  if (server > 0) ::kill(static_cast<pid_t>(server), SIGTERM);
  ASSERT_FALSE(port.empty()) << text;
  ASSERT_EQ(answer.exit_code, 0) << answer.output;
  const std::vector<uint8_t> pixels = mnist_test_pixels(5);
  infer::Classifier classifier(load_model_or_onnx(onnx));
  const auto predictions = classifier.classify(pixels.data(), 5);
  for (int i = 0; i < 5; ++i)
    EXPECT_NE(answer.output.find("[" + std::to_string(i) + "]\tclass " + std::to_string(predictions[i].label)),
              std::string::npos) << answer.output;
}

// gcm → onnx → gcm: the same spec, name, labels, and every parameter bit for bit.
TEST(OnnxImport, RoundTripKeepsEveryWeightBitForBit) {
  const std::string specs[] = {"seed-cnn", "lenet5", "mlp",
                               "conv(1,8,3,2,1) tanh conv(8,6,3,1,2,2) sigmoid avgpool(2) maxpool(2,1) dropout(0.25) "
                               "flatten linear(216,32) tanh linear(32,10)"};
  for (const std::string& spec : specs)
    for (int opset : {11, 13, 17})
      for (bool raw : {false, true}) {
        SCOPED_TRACE(spec + " opset " + std::to_string(opset) + (raw ? " raw" : ""));
        auto model = build_model(spec);
        model->reset_parameters(5, "he");
        ModelInfo info;
        info.name = "round-trip";
        info.version = 3;
        const std::string bytes = export_onnx(*model, info, {.opset = opset, .raw_input = raw});
        LoadedModel back = import_string(bytes, "x.onnx");
        EXPECT_EQ(back.model->spec(), model->spec());
        EXPECT_EQ(back.info.name, "round-trip");
        EXPECT_EQ(back.info.version, 3);
        EXPECT_EQ(back.info.labels, info.labels);
        EXPECT_EQ(static_cast<float>(back.info.input_mean), static_cast<float>(info.input_mean));
        EXPECT_EQ(static_cast<float>(back.info.input_std), static_cast<float>(info.input_std));
        EXPECT_EQ(back.info.origin.producer, "gradcore 0.1.0");
        auto a = model->parameters(), b = back.model->parameters();
        ASSERT_EQ(a.size(), b.size());
        for (size_t p = 0; p < a.size(); ++p) {
          EXPECT_EQ(a[p].name, b[p].name);
          ASSERT_EQ(a[p].tensor->shape(), b[p].tensor->shape());
          EXPECT_EQ(std::memcmp(a[p].tensor->data<float>(), b[p].tensor->data<float>(), a[p].tensor->bytes()), 0)
              << a[p].name;
        }
      }
}

// Edits of an exported model, each refused with its message.
class OnnxRefusal : public ::testing::Test {
 protected:
  void SetUp() override {
    auto model = build_model("conv(1,4,3) relu maxpool(2) flatten linear(676,16) relu linear(16,10)");
    model->reset_parameters(2, "he");
    model_ = model->spec();
    ASSERT_TRUE(proto_.ParseFromString(export_onnx(*model, ModelInfo{}, {})));
  }
  ::onnx::NodeProto& node(const std::string& name) {
    for (auto& n : *proto_.mutable_graph()->mutable_node())
      if (n.name() == name) return n;
    throw std::logic_error("no node " + name);
  }
  ::onnx::TensorProto& initializer(const std::string& name) {
    for (auto& t : *proto_.mutable_graph()->mutable_initializer())
      if (t.name() == name) return t;
    throw std::logic_error("no initializer " + name);
  }
  std::string import_bytes(const std::string& bytes) {
    try {
      onnx_to_model_file(std::as_bytes(std::span(bytes.data(), bytes.size())), "edited.onnx");
    } catch (const serialize::FormatError& e) {
      return e.what();
    }
    return "imported";
  }
  std::string import_edited() { return import_bytes(proto_.SerializeAsString()); }

  std::string model_;
  ::onnx::ModelProto proto_;
};

#define EXPECT_REFUSED(message, fragment) \
  EXPECT_NE((message).find(fragment), std::string::npos) << (message)

TEST_F(OnnxRefusal, TheUneditedModelImports) { EXPECT_EQ(import_edited(), "imported"); }

TEST_F(OnnxRefusal, TruncatedOrGarbageBytes) {
  const std::string bytes = proto_.SerializeAsString();
  for (size_t cut : {bytes.size() / 2, bytes.size() - 3, size_t{7}})
    EXPECT_REFUSED(import_bytes(bytes.substr(0, cut)), "edited.onnx: ");
  EXPECT_REFUSED(import_bytes(bytes.substr(0, bytes.size() / 2)), "not a valid ONNX protobuf");
  EXPECT_REFUSED(import_bytes(std::string(64, '\xff')), "not a valid ONNX protobuf");
  EXPECT_REFUSED(import_bytes(""), "no graph");
}

TEST_F(OnnxRefusal, UnsupportedOpNamesNodeOpTypeOpsetAndTheList) {
  node("relu1").set_op_type("LeakyRelu");
  const std::string message = import_edited();
  EXPECT_REFUSED(message, "node 'relu1' (LeakyRelu): op_type 'LeakyRelu' at opset 13 is not supported; supported: Conv");
}

TEST_F(OnnxRefusal, OpsetOutsideElevenToSeventeen) {
  proto_.mutable_opset_import(0)->set_version(9);
  EXPECT_REFUSED(import_edited(), "opset 9 is not supported (11 to 17)");
  proto_.mutable_opset_import(0)->set_version(18);
  EXPECT_REFUSED(import_edited(), "opset 18 is not supported");
}

TEST_F(OnnxRefusal, NegativeHugeOrInconsistentDims) {
  initializer("fc1.weight").set_dims(0, -16);
  EXPECT_REFUSED(import_edited(), "tensor 'fc1.weight': negative dimension -16");
  initializer("fc1.weight").set_dims(0, int64_t{1} << 40);
  EXPECT_REFUSED(import_edited(), "tensor 'fc1.weight': dims hold more than");
  initializer("fc1.weight").set_dims(0, 17);
  EXPECT_REFUSED(import_edited(), "tensor 'fc1.weight': raw_data holds 43264 bytes, its dims need 45968");
  auto* dim = proto_.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(2);
  dim->set_dim_value(-28);
  EXPECT_REFUSED(import_edited(), "graph input 'input': dimension 2 must be a number from 1 to");
}

TEST_F(OnnxRefusal, MissingInitializer) {
  auto* inits = proto_.mutable_graph()->mutable_initializer();
  inits->erase(std::find_if(inits->begin(), inits->end(), [](const auto& t) { return t.name() == "fc2.weight"; }));
  EXPECT_REFUSED(import_edited(), "node 'fc2' (Gemm): input 'fc2.weight' is neither an initializer nor produced by any "
                                  "node (missing initializer?)");
}

TEST_F(OnnxRefusal, ShapeMismatchNamesTheNode) {
  // fc2 reads 16 features; give it a weight for 8.
  auto& w = initializer("fc2.weight");
  w.set_dims(1, 8);
  w.set_raw_data(w.raw_data().substr(0, 10 * 8 * 4));
  EXPECT_REFUSED(import_edited(), "node 'fc2' (Gemm): weight for 8 inputs, but the input has 16 features");
  auto& c = initializer("conv1.weight");
  c.set_dims(1, 3);
  c.set_raw_data(c.raw_data() + c.raw_data() + c.raw_data());
  EXPECT_REFUSED(import_edited(), "node 'conv1' (Conv): weight 'conv1.weight' [4,3,3,3] wants 3 input channels");
}

TEST_F(OnnxRefusal, Cycle) {
  // conv1 reads relu2's output: conv1 → … → relu2 → conv1.
  node("conv1").set_input(0, node("relu2").output(0));
  EXPECT_REFUSED(import_edited(), "the graph has a cycle through node 'conv1' (Conv)");
}

TEST_F(OnnxRefusal, BranchAndAttributesOurLayersCannotHold) {
  ::onnx::ModelProto original = proto_;
  node("fc1").set_input(0, node("relu1").input(0));  // conv1's output, read by relu1 and fc1
  EXPECT_REFUSED(import_edited(), "only a chain of layers is supported");
  proto_ = original;
  for (auto& a : *node("conv1").mutable_attribute())
    if (a.name() == "pads") a.set_ints(1, 1);
  EXPECT_REFUSED(import_edited(), "node 'conv1' (Conv): pads [0,1,0,0] unsupported: gradcore pads both sides of an "
                                  "axis alike (top = bottom, left = right)");
  proto_ = original;
  for (auto& a : *node("conv1").mutable_attribute())
    if (a.name() == "group") a.set_i(2);
  EXPECT_REFUSED(import_edited(), "node 'conv1' (Conv): group 2, only 1 is supported");
  proto_ = original;
  for (auto& a : *node("maxpool1").mutable_attribute())
    if (a.name() == "pads")
      for (int k = 0; k < 4; ++k) a.set_ints(k, 2);
  EXPECT_REFUSED(import_edited(), "node 'maxpool1' (MaxPool): padding 2 unsupported for kernel 2: a pooling's "
                                  "padding is at most half its kernel");
  proto_ = original;  // found by fuzz_onnx: a pool without kernel_shape
  auto* attributes = node("maxpool1").mutable_attribute();
  attributes->erase(std::find_if(attributes->begin(), attributes->end(),
                                 [](const auto& a) { return a.name() == "kernel_shape"; }));
  EXPECT_REFUSED(import_edited(), "node 'maxpool1' (MaxPool): kernel_shape [] has 0 values, expected 2");
}

TEST_F(OnnxRefusal, CliNamesTheError) {
  node("relu2").set_op_type("Softmax");
  const auto dir = temp_dir("onnx-refusal");
  std::ofstream(dir / "bad.onnx", std::ios::binary) << proto_.SerializeAsString();
  CliRun run = gradcore("import " + (dir / "bad.onnx").string() + " --out " + (dir / "bad.gcm").string());
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_REFUSED(run.output, "gradcore import: " + (dir / "bad.onnx").string() + ": node 'relu2' (Softmax)");
  EXPECT_FALSE(std::filesystem::exists(dir / "bad.gcm"));
  run = gradcore("eval --model " + (dir / "bad.onnx").string());
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_REFUSED(run.output, "node 'relu2' (Softmax)");
}

// Gemm Y = alpha·A·B' + beta·C: B untransposed ([in, out]), alpha 2 with B/2
// and beta 0.5 with 2C are the same layer, and (powers of two) the same bits.
TEST_F(OnnxRefusal, GemmTransBAlphaBetaAreHonoured) {
  const LoadedModel before = import_string(proto_.SerializeAsString(), "a");
  auto& w = initializer("fc1.weight");  // [16, 676]
  std::vector<float> m(16 * 676), t(m.size());
  std::memcpy(m.data(), w.raw_data().data(), m.size() * 4);
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 676; ++c) t[c * 16 + r] = m[r * 676 + c] / 2;
  w.set_dims(0, 676);
  w.set_dims(1, 16);
  w.clear_raw_data();
  for (float v : t) w.add_float_data(v);  // the typed field this time
  auto& b = initializer("fc1.bias");
  std::vector<float> bias(16);
  std::memcpy(bias.data(), b.raw_data().data(), 64);
  for (float& v : bias) v *= 2;
  b.set_raw_data(bias.data(), 64);
  auto& gemm = node("fc1");
  gemm.clear_attribute();
  auto set_float = [&](const char* name, float value) {
    auto* a = gemm.add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto::FLOAT);
    a->set_f(value);
  };
  set_float("alpha", 2.0f);
  set_float("beta", 0.5f);
  const LoadedModel after = import_string(proto_.SerializeAsString(), "b");
  auto x = before.model->parameters(), y = after.model->parameters();
  ASSERT_EQ(x.size(), y.size());
  for (size_t p = 0; p < x.size(); ++p)
    EXPECT_EQ(x[p].tensor->to_doubles(), y[p].tensor->to_doubles()) << x[p].name;
}

}  // namespace
}  // namespace gc::test
