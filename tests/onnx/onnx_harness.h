// Shared by the ONNX tests: the real MNIST test images, ONNX Runtime through
// tests/onnx/run_ort.js, and a logits comparison.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/cli_run.h"
#include "tools/data/idx.h"

namespace gc::test {

// A file of MNIST: $GRADCORE_DATA/mnist, else <source>/data/mnist
// (tools/test.sh fetches it there, so a missing file fails).
inline std::string mnist_dir_file(const std::string& name) {
  const char* root = std::getenv("GRADCORE_DATA");
  return (std::filesystem::path(root ? root : GRADCORE_SOURCE_DIR "/data") / "mnist" / name).string();
}

// The first `count` MNIST test images.
inline std::vector<uint8_t> mnist_test_pixels(int64_t count) {
  const std::string file = mnist_dir_file("t10k-images-idx3-ubyte");
  data::IdxImages images = data::read_idx_images(file);
  EXPECT_GE(images.count, count) << file;
  images.pixels.resize(count * 28 * 28);
  return images.pixels;
}

template <typename T>
void write_values(const std::filesystem::path& path, const std::vector<T>& values) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size() * sizeof(T)));
  ASSERT_TRUE(out.good()) << path;
}

struct OrtResult {
  int exit_code = -1;
  std::string output;         // run_ort.js's stdout and stderr
  std::vector<float> values;  // the first graph output
};

// Runs `model` in ONNX Runtime on an [n, 1, 28, 28] input of float32 or uint8.
template <typename T>
OrtResult run_ort(const std::filesystem::path& model, const std::vector<T>& input, int64_t n,
                  const std::filesystem::path& dir) {
  const auto in = dir / "ort-input.bin", out = dir / "ort-output.bin";
  write_values(in, input);
  std::filesystem::remove(out);
  const char* type = sizeof(T) == 1 ? "uint8" : "float32";
  const std::string command = "node " GRADCORE_SOURCE_DIR "/tests/onnx/run_ort.js " + model.string() + " " +
                              in.string() + " " + type + " " + std::to_string(n) + ",1,28,28 " + out.string() + " 2>&1";
  OrtResult r;
  FILE* pipe = popen(command.c_str(), "r");
  char buffer[4096];
  while (size_t got = fread(buffer, 1, sizeof buffer, pipe)) r.output.append(buffer, got);
  int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  std::ifstream file(out, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  r.values.resize(bytes.size() / sizeof(float));
  std::memcpy(r.values.data(), bytes.data(), r.values.size() * sizeof(float));
  return r;
}

// Largest |got − want| / max(1, |want|) over all values; infinite when the
// sizes differ or a value is NaN (so the comparison with a tolerance fails).
inline double max_relative_error(const std::vector<float>& got, const std::vector<float>& want) {
  if (got.size() != want.size() || want.empty()) return INFINITY;
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double e = std::fabs(double(got[i]) - want[i]) / std::max(1.0, std::fabs(double(want[i])));
    if (!(e <= worst)) worst = std::isnan(e) ? INFINITY : e;
  }
  return worst;
}

// Logits must agree to this, relative (docs/ONNX.md).
inline constexpr double kLogitTolerance = 1e-5;

}  // namespace gc::test
