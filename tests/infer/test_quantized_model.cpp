// The int8 runner (infer/quantized_model.h) against a float simulation of the
// same quantization, group by group: each group's u8 input, dequantized,
// through the float layers of the dequantized network, quantized with the
// group's output scale, must give the runner's bytes to within 1 LSB (float
// rounding can only move a value that lies within a hair of a rounding
// boundary). The network mixes every kind of group: conv + ReLU + pool, a
// strided padded conv, a standalone pool, a fp32 layer (tanh), flatten,
// linear + ReLU, dropout and the final linear's logits. Also: every int8
// path gives the same logits, the file round trip, bad files, the Classifier.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <vector>

#include "engine/autograd.h"
#include "infer/classifier.h"
#include "infer/quantize.h"
#include "infer/quantized_model.h"
#include "layers/spec.h"
#include "serialize/model_io.h"
#include "serialize/model_store.h"
#include "serialize/quantized_store.h"

namespace gc::infer {
namespace {

const char* kSpec =
    "conv(1,8,3,1,1) relu maxpool(2) conv(8,16,3) relu maxpool(2,1) conv(16,12,3,2,1) tanh flatten "
    "linear(48,20) relu dropout(0.5) linear(20,10)";
const std::vector<int64_t> kInputShape = {1, 12, 12};
constexpr int64_t kPixels = 144;

std::vector<float> random_images(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> pixel(0.3f, 1.0f);
  std::vector<float> v(n * kPixels);
  for (float& x : v) x = pixel(rng);
  return v;
}

class QuantizedModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("gradcore-int8-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    auto model = build_model(kSpec);
    model->reset_parameters(3, "he");
    info_.input_shape = kInputShape;
    const std::vector<float> calibration = random_images(200, 1);
    const QuantizationInfo q = quantize_model(*model, kInputShape, calibration.data(), 200, {});
    save_quantized_model(path(), *model, info_, q);
  }
  void TearDown() override {
    cpu::set_int8_override(std::nullopt);
    std::filesystem::remove_all(dir_);
  }
  std::filesystem::path path() const { return dir_ / "int8.gcm"; }

  std::filesystem::path dir_;
  ModelInfo info_;
};

// u8 channels last → float channel-major, and back.
Tensor dequantized(const uint8_t* q, int64_t n, const Int8Shape& s, const ActivationQuantization& a) {
  Tensor t = Tensor::empty(s.spatial ? Shape{n, s.c, s.h, s.w} : Shape{n, s.c});
  const int64_t plane = int64_t(s.h) * s.w;
  for (int64_t i = 0; i < n; ++i)
    for (int c = 0; c < s.c; ++c)
      for (int64_t p = 0; p < plane; ++p)
        t.data<float>()[i * s.size() + c * plane + p] =
            static_cast<float>(a.scale * (int(q[i * s.size() + p * s.c + c]) - a.zero_point));
  return t;
}

std::vector<int> quantized(const Tensor& t, const Int8Shape& s, const ActivationQuantization& a) {
  const int64_t n = t.dim(0), plane = int64_t(s.h) * s.w;
  std::vector<int> q(n * s.size());
  for (int64_t i = 0; i < n; ++i)
    for (int c = 0; c < s.c; ++c)
      for (int64_t p = 0; p < plane; ++p) {
        const double v = std::nearbyint(t.data<float>()[i * s.size() + c * plane + p] / a.scale) + a.zero_point;
        q[i * s.size() + p * s.c + c] = static_cast<int>(std::clamp(v, 0.0, 255.0));
      }
  return q;
}

TEST_F(QuantizedModelTest, EachGroupWithinOneLsbOfFloatSimulation) {
  LoadedModel loaded = load_model(path());
  ASSERT_TRUE(loaded.quantization);
  Sequential& net = *loaded.model;  // the dequantized parameters
  net.set_training_mode(false);
  QuantizedModel runner(net, *loaded.quantization, kInputShape);
  const int64_t n = 7;
  const std::vector<float> images = random_images(n, 2);

  std::vector<uint8_t> input(n * kPixels);
  for (int64_t i = 0; i < n; ++i) runner.quantize_input(images.data() + i * kPixels, input.data() + i * kPixels);
  std::vector<uint8_t> previous = input;
  Int8Shape previous_shape{1, 12, 12, true};
  ActivationQuantization previous_q = loaded.quantization->activations[0];
  NoGradGuard no_grad;
  size_t groups_seen = 0, values_off_by_one = 0, values = 0;
  auto simulate = [&](const Int8Group& g) {
    Tensor x = dequantized(previous.data(), n, previous_shape, previous_q);
    for (size_t i = g.begin; i < g.end; ++i) x = (*net.layers()[i])(x);
    return x;
  };
  std::vector<float> logits(n * 10);
  runner.forward(images.data(), n, logits.data(),
                 [&](size_t, const Int8Group& g, const uint8_t* out, const Int8Shape& shape,
                     const ActivationQuantization& q) {
                   const std::vector<int> expected = quantized(simulate(g), shape, q);
                   ASSERT_EQ(expected.size(), size_t(n * shape.size()));
                   for (size_t e = 0; e < expected.size(); ++e) {
                     const int diff = std::abs(expected[e] - int(out[e]));
                     ASSERT_LE(diff, 1) << "group of layers " << g.begin << ".." << g.end << ", value " << e;
                     values_off_by_one += diff;
                   }
                   values += expected.size();
                   previous.assign(out, out + expected.size());
                   previous_shape = shape;
                   previous_q = q;
                   ++groups_seen;
                 });
  EXPECT_EQ(groups_seen, int8_groups(net).size() - 1);  // all but the logits
  EXPECT_LT(values_off_by_one, values / 50) << "off by one in more than 2% of the values";
  const Tensor expected_logits = simulate(int8_groups(net).back());
  for (int64_t e = 0; e < n * 10; ++e) {
    const float ref = expected_logits.data<float>()[e];
    EXPECT_NEAR(logits[e], ref, 1e-4 * std::max(1.0f, std::fabs(ref))) << "logit " << e;
  }
}

TEST_F(QuantizedModelTest, EveryPathGivesTheSameLogits) {
  LoadedModel loaded = load_model(path());
  QuantizedModel runner(*loaded.model, *loaded.quantization, kInputShape);
  const int64_t n = 33;
  const std::vector<float> images = random_images(n, 3);
  cpu::set_int8_override(cpu::Int8Path::scalar);
  std::vector<float> reference(n * 10);
  runner.forward(images.data(), n, reference.data());
  for (cpu::Int8Path path : {cpu::Int8Path::avx2, cpu::Int8Path::avx_vnni, cpu::Int8Path::avx512_vnni}) {
    if (!cpu::cpu_supports(path)) continue;
    cpu::set_int8_override(path);
    std::vector<float> got(n * 10);
    runner.forward(images.data(), n, got.data());
    EXPECT_EQ(got, reference) << cpu::int8_path_name(path);
  }
}

TEST_F(QuantizedModelTest, FileRecordsPrecisionScalesAndIntegers) {
  const serialize::ModelFile file = serialize::read_model_file(path());
  EXPECT_EQ(serialize::verify_model_file(path()).summary.version.minor, 1);
  EXPECT_EQ(file.get_string("model.precision"), "int8");
  EXPECT_EQ(file.tensor("conv1.weight").dtype, serialize::DType::I8);
  EXPECT_EQ(file.tensor("fc2.bias").dtype, serialize::DType::I32);
  const serialize::Section& q = file.section("quantization");
  EXPECT_EQ(q.get_floats("conv2.weight_scales").size(), 16u);
  const std::vector<std::string> precision = q.get_strings("layer.precision");
  ASSERT_EQ(precision.size(), 13u);
  EXPECT_EQ(precision[7], "fp32");  // tanh
  EXPECT_EQ(precision[0], "int8");
}

TEST_F(QuantizedModelTest, BadQuantizationIsRefusedByName) {
  serialize::ModelFile file = serialize::read_model_file(path());
  auto& zero_points = std::get<std::vector<int64_t>>(file.sections[0].metadata["activation.zero_points"]);
  zero_points[3] = 300;
  const auto bad = dir_ / "bad.gcm";
  serialize::write_model_file(bad, file);
  try {
    load_model(bad);
    FAIL() << "a zero point of 300 loaded";
  } catch (const serialize::FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("activation.zero_points[3] is 300, expected 0..255"), std::string::npos)
        << e.what();
  }
}

// A scale the format accepts (finite, > 0) but float cannot hold is refused
// when the runner is built, never turned into NaN.
TEST_F(QuantizedModelTest, ScaleOutsideFloatRangeIsRefused) {
  serialize::ModelFile file = serialize::read_model_file(path());
  std::get<std::vector<double>>(file.sections[0].metadata["activation.scales"])[1] = 1e-300;
  const auto bad = dir_ / "tiny-scale.gcm";
  serialize::write_model_file(bad, file);
  try {
    Classifier classifier(load_model(bad));
    FAIL() << "a scale of 1e-300 was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("activation.scales[1]"), std::string::npos) << e.what();
  }
}

TEST_F(QuantizedModelTest, ClassifierRunsTheInt8Model) {
  Classifier classifier(load_model(path()));
  EXPECT_STREQ(classifier.precision(), "int8");
  const std::vector<float> images = random_images(5, 4);
  std::vector<float> logits(50), direct(50);
  classifier.forward(images.data(), 5, logits.data());
  LoadedModel loaded = load_model(path());
  QuantizedModel(*loaded.model, *loaded.quantization, kInputShape).forward(images.data(), 5, direct.data());
  EXPECT_EQ(logits, direct);
}

}  // namespace
}  // namespace gc::infer
