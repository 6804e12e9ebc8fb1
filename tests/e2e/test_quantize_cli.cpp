// `gradcore quantize` and the tools that take its int8 model: the summary,
// inspect's per-layer table (a layer without an int8 kernel marked fp32),
// eval and predict on the int8 runner, serve (INFO's precision, RELOAD from
// fp32 to int8 and back), and the errors. Uses small random IDX
// files of its own (train and test), so it needs no MNIST.
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <random>
#include <string>

#include "layers/spec.h"
#include "serialize/model_store.h"
#include "tests/cli_run.h"
#include "tests/serve_process.h"

namespace gc::test {
namespace {

void write_big_endian(std::ofstream& out, uint32_t v) {
  const char bytes[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
  out.write(bytes, 4);
}

void write_idx_pair(const std::filesystem::path& dir, const std::string& prefix, int count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::ofstream images(dir / (prefix + "-images-idx3-ubyte"), std::ios::binary);
  std::ofstream labels(dir / (prefix + "-labels-idx1-ubyte"), std::ios::binary);
  for (uint32_t v : {0x803u, uint32_t(count), 28u, 28u}) write_big_endian(images, v);
  for (uint32_t v : {0x801u, uint32_t(count)}) write_big_endian(labels, v);
  for (int i = 0; i < count * 784; ++i) images.put(char(rng() % 256));
  for (int i = 0; i < count; ++i) labels.put(char(rng() % 10));
}

class QuantizeCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = temp_dir("quantize");
    write_idx_pair(dir_, "train", 60, 1);
    write_idx_pair(dir_, "t10k", 40, 2);
    save(build_model("seed-cnn"), "seed.gcm");
    save(build_model("conv(1,4,3) tanh flatten linear(2704,10)"), "tanh.gcm");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void save(std::unique_ptr<Sequential> model, const std::string& name) {
    model->reset_parameters(3, "he");
    save_model(dir_ / name, *model, ModelInfo{});
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  CliRun quantize(const std::string& model, const std::string& out, const std::string& extra = "") {
    return gradcore("quantize --model " + path(model) + " --data " + dir_.string() + " --calib-images 50 --out " +
                    path(out) + " " + extra);
  }

  std::filesystem::path dir_;
};

TEST_F(QuantizeCli, QuantizesInspectsAndEvaluates) {
  const CliRun q = quantize("seed.gcm", "int8.gcm", "--calib percentile");
  ASSERT_EQ(q.exit_code, 0) << q.output;
  EXPECT_NE(q.output.find("percentile calibration on 50 mnist training images"), std::string::npos) << q.output;
  EXPECT_EQ(count_lines_with(q.output, " int8\n"), 12) << q.output;  // every seed-cnn layer
  EXPECT_LT(std::filesystem::file_size(path("int8.gcm")), 0.3 * std::filesystem::file_size(path("seed.gcm")));

  const CliRun inspect = gradcore("inspect " + path("int8.gcm"));
  ASSERT_EQ(inspect.exit_code, 0) << inspect.output;
  EXPECT_NE(inspect.output.find("gradcore model file 1.1"), std::string::npos) << inspect.output;
  EXPECT_NE(inspect.output.find("int8 model: u8 activations"), std::string::npos) << inspect.output;
  EXPECT_NE(inspect.output.find("weight scales"), std::string::npos) << inspect.output;
  EXPECT_NE(inspect.output.find("model.precision"), std::string::npos) << inspect.output;

  const CliRun eval = gradcore("eval --model " + path("int8.gcm") + " --data " + dir_.string());
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  EXPECT_NE(eval.output.find("(mnist v1, int8) on mnist test: 40 images"), std::string::npos) << eval.output;

  const CliRun predict = gradcore("predict --model " + path("int8.gcm") + " " + path("t10k-images-idx3-ubyte"));
  EXPECT_EQ(predict.exit_code, 0) << predict.output;
}

TEST_F(QuantizeCli, LayerWithoutInt8KernelStaysFp32) {
  const CliRun q = quantize("tanh.gcm", "tanh-int8.gcm");
  ASSERT_EQ(q.exit_code, 0) << q.output;
  EXPECT_NE(q.output.find("fp32 (no int8 kernel"), std::string::npos) << q.output;
  const CliRun inspect = gradcore("inspect " + path("tanh-int8.gcm"));
  ASSERT_EQ(inspect.exit_code, 0) << inspect.output;
  EXPECT_NE(inspect.output.find("tanh1      fp32"), std::string::npos) << inspect.output;
  EXPECT_NE(inspect.output.find("no int8 kernel: dequantize before, quantize after"), std::string::npos);
  const CliRun eval = gradcore("eval --model " + path("tanh-int8.gcm") + " --data " + dir_.string());
  EXPECT_EQ(eval.exit_code, 0) << eval.output;
}

TEST_F(QuantizeCli, ServeReportsPrecisionAndReloadsBetweenFp32AndInt8) {
  ASSERT_EQ(quantize("seed.gcm", "int8.gcm").exit_code, 0);
  std::ofstream(dir_ / "token") << "int8-test-token";
  ServeProcess server("--model " + path("seed.gcm") + " --token-file " + path("token"), dir_);
  ASSERT_GT(server.port(), 0) << server.log();
  EXPECT_NE(server.client("info").output.find("\"precision\": \"fp32\""), std::string::npos)
      << server.client("info").output;
  const std::string reload = "reload --token-file " + path("token") + " --path ";
  ASSERT_EQ(server.client(reload + path("int8.gcm")).exit_code, 0) << server.log();
  const CliRun info = server.client("info");
  EXPECT_NE(info.output.find("\"precision\": \"int8\""), std::string::npos) << info.output;
  const CliRun predict = server.client("predict " + path("t10k-images-idx3-ubyte"));
  EXPECT_EQ(predict.exit_code, 0) << predict.output;
  ASSERT_EQ(server.client(reload + path("seed.gcm")).exit_code, 0) << server.log();
  EXPECT_NE(server.client("info").output.find("\"precision\": \"fp32\""), std::string::npos);
}

TEST_F(QuantizeCli, Errors) {
  const CliRun bad_calib = quantize("seed.gcm", "x.gcm", "--calib entropy");
  EXPECT_NE(bad_calib.exit_code, 0);
  EXPECT_NE(bad_calib.output.find("--calib"), std::string::npos) << bad_calib.output;
  const CliRun bad_bits = quantize("seed.gcm", "x.gcm", "--weight-bits 4");
  EXPECT_NE(bad_bits.exit_code, 0);
  EXPECT_NE(bad_bits.output.find("--weight-bits"), std::string::npos) << bad_bits.output;
  ASSERT_EQ(quantize("seed.gcm", "int8.gcm").exit_code, 0);
  const CliRun twice = quantize("int8.gcm", "again.gcm");
  EXPECT_NE(twice.exit_code, 0);
  EXPECT_NE(twice.output.find("is already an int8 model"), std::string::npos) << twice.output;
  EXPECT_FALSE(std::filesystem::exists(path("again.gcm")));
}

}  // namespace
}  // namespace gc::test
