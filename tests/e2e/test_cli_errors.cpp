// Bad input to the gradcore CLI: one line on stderr naming the problem, and
// a non-zero exit code; never a crash.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "serialize/model_io.h"
#include "tests/cli_run.h"
#include "tests/e2e/mnist_fixture.h"

namespace {

using gc::test::CliRun;
using gc::test::gradcore;

std::filesystem::path temp_dir() { return gc::test::temp_dir("cli-errors"); }

void expect_one_line_error(const CliRun& r, const std::string& fragment) {
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(fragment), std::string::npos) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
}

TEST(CliErrors, UnknownPreset) {
  expect_one_line_error(gradcore("train --model seed-cn --data /nonexistent --epochs 1"), "seed-cn");
}

// An option outside its range is a usage error (CLI11's code, a hint to
// --help) that names the option, what it expected and what it got.
TEST(CliErrors, OptionOutOfRange) {
  const std::pair<const char*, const char*> cases[] = {
      {"loadgen --connections 0", "--connections: expected a number > 0, got 0"},
      {"loadgen --duration -1", "--duration: expected a number > 0, got -1"},
      {"serve --model m.gcm --max-delay-us -5", "--max-delay-us: expected a number >= 0, got -5"},
      {"loadgen --offline-batch 0", "--offline-batch: Value 0 not in range 1"},
  };
  for (const auto& [args, message] : cases) {
    CliRun r = gradcore(args);
    EXPECT_NE(r.exit_code, 0) << args;
    EXPECT_NE(r.output.find(message), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("179769"), std::string::npos) << r.output;
  }
}

// Plaintext is refused on an address other machines can reach before the
// model is even read.
TEST(CliErrors, ServePlaintextBeyondLoopback) {
  expect_one_line_error(gradcore("serve --model /nonexistent/m.gcm --bind 0.0.0.0"),
                        "refusing to serve plaintext on 0.0.0.0, which other machines can reach: give --tls-cert "
                        "and --tls-key, or --insecure");
  expect_one_line_error(gradcore("serve --model /nonexistent/m.gcm --bind :: --insecure"), "/nonexistent/m.gcm");
}

TEST(CliErrors, MissingAndCorruptIdx) {
  auto dir = temp_dir() / "idx";
  std::filesystem::create_directories(dir);
  expect_one_line_error(gradcore("train --data " + dir.string()), "no such file");
  // Two valid labels, and an images file whose header promises 2 images of 28×28 but holds none.
  std::ofstream(dir / "train-labels-idx1-ubyte", std::ios::binary) << std::string("\0\0\x08\x01\0\0\0\x02\x01\x02", 10);
  std::ofstream(dir / "train-images-idx3-ubyte", std::ios::binary)
      << std::string("\0\0\x08\x03\0\0\0\x02\0\0\0\x1c\0\0\0\x1c", 16);
  expect_one_line_error(gradcore("train --data " + dir.string()), "train-images-idx3-ubyte: expected");
}

TEST(CliErrors, ImageThatDoesNotDecodeAndMissingModel) {
  auto junk = temp_dir() / "junk.png";
  std::ofstream(junk) << "not a png";
  expect_one_line_error(gradcore("predict --model /nonexistent/m.gcm " + junk.string()), "/nonexistent/m.gcm");
  expect_one_line_error(gradcore("inspect /nonexistent/m.gcm"), "/nonexistent/m.gcm");
}

TEST(CliErrors, MismatchedModelAndInput) {
  REQUIRE_MNIST();
  auto dir = temp_dir();
  auto model = dir / "tiny.gcm";
  CliRun train = gradcore("train --model mlp --epochs 1 --train-limit 256 --test-limit 100 --data " + mnist_dir() +
                       " --out " + model.string());
  ASSERT_EQ(train.exit_code, 0) << train.output;
  auto junk = dir / "junk.png";
  std::ofstream(junk) << "not a png";
  expect_one_line_error(gradcore("predict --model " + model.string() + " " + junk.string()), "junk.png");
  // A model whose first layer expects 3 channels cannot take MNIST digits.
  expect_one_line_error(gradcore("train --model 'conv(3,4,3) relu flatten linear(2704,10)' --epochs 1 --data " +
                                 mnist_dir()), "channels");
}

// predict answers every input it can read, reports each one it cannot, and
// exits 1 at the end.
TEST(CliErrors, PredictClassifiesTheGoodInputsAndReportsTheBadOnes) {
  REQUIRE_MNIST();
  auto dir = temp_dir();
  auto model = dir / "good-bad.gcm";
  ASSERT_EQ(gradcore("train --model mlp --epochs 1 --train-limit 256 --test-limit 100 --data " + mnist_dir() +
                     " --out " + model.string()).exit_code, 0);
  std::string stroke(784, '\0');
  for (int row = 4; row < 24; ++row) stroke[row * 28 + 14] = '\xff';
  auto good = dir / "one.pgm", junk = dir / "junk.png";
  std::ofstream(good, std::ios::binary) << "P5 28 28 255\n" << stroke;
  std::ofstream(junk) << "not a png";
  CliRun r = gradcore("predict --model " + model.string() + " " + good.string() + " " + junk.string() + " " +
                      good.string());
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(gc::test::count_lines_with(r.output, good.string() + ": "), 2) << r.output;
  EXPECT_NE(r.output.find("gradcore predict: " + junk.string()), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("1 input(s) could not be read; the other 2 image(s) were classified"), std::string::npos)
      << r.output;
}

// A grads dump carries the model metadata, so it loads as a model; a file
// without that metadata is refused with an error that names the file.
TEST(CliErrors, GradsDumpLoadsAsAModelAndMissingMetadataNamesTheFile) {
  REQUIRE_MNIST();
  auto dir = temp_dir();
  auto dump = dir / "grads.gcm";
  CliRun grads = gradcore("grads --model mlp --seed 3 --count 4 --data-dir " + mnist_dir() + " --out " + dump.string());
  ASSERT_EQ(grads.exit_code, 0) << grads.output;
  CliRun eval = gradcore("eval --model " + dump.string() + " --data " + mnist_dir());
  EXPECT_EQ(eval.exit_code, 0) << eval.output;
  EXPECT_NE(eval.output.find("accuracy"), std::string::npos) << eval.output;

  gc::serialize::ModelFile bare = gc::serialize::read_model_file(dump);
  bare.metadata.erase("model.name");
  auto nameless = dir / "nameless.gcm";
  gc::serialize::write_model_file(nameless, bare);
  expect_one_line_error(gradcore("eval --model " + nameless.string()),
                        nameless.string() + ": section 'model': metadata 'model.name' is missing");
}

}  // namespace
