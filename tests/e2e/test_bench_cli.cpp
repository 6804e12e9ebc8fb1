// `gradcore bench`: the table and JSON a script reads, both paths over the
// same images (the plan and the engine must classify them alike), and its
// errors. Uses a small IDX file of its own, so it needs no MNIST.
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <random>
#include <string>

#include "layers/spec.h"
#include "serialize/model_store.h"
#include "tests/cli_run.h"

namespace gc::test {
namespace {

void write_big_endian(std::ofstream& out, uint32_t v) {
  const char bytes[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
  out.write(bytes, 4);
}

class BenchCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = temp_dir("bench");
    std::mt19937 rng(5);
    std::ofstream images(dir_ / "images", std::ios::binary), labels(dir_ / "labels", std::ios::binary);
    write_big_endian(images, 0x803);
    write_big_endian(images, kImages);
    write_big_endian(images, 28);
    write_big_endian(images, 28);
    write_big_endian(labels, 0x801);
    write_big_endian(labels, kImages);
    for (int i = 0; i < kImages * 784; ++i) images.put(char(rng() % 256));
    for (int i = 0; i < kImages; ++i) labels.put(char(rng() % 10));
    auto model = build_model("seed-cnn");
    model->reset_parameters(2, "he");
    save_model(dir_ / "seed.gcm", *model, ModelInfo{});
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string data_args() const {
    return "--model " + (dir_ / "seed.gcm").string() + " --images " + (dir_ / "images").string() + " --labels " +
           (dir_ / "labels").string();
  }

  static constexpr int kImages = 37;
  std::filesystem::path dir_;
};

// The accuracy of the cell `"path": P` with `"batch": B`, as the JSON prints it.
std::string accuracy_of(const std::string& json, const std::string& path, int batch) {
  for (size_t at = json.find("{", 1); at != std::string::npos; at = json.find("{", at + 1)) {
    const std::string cell = json.substr(at, json.find("}", at) - at);
    if (cell.find("\"path\": \"" + path + "\"") != std::string::npos &&
        cell.find("\"batch\": " + std::to_string(batch) + ",") != std::string::npos) {
      const size_t a = cell.find("\"accuracy\": ");
      return cell.substr(a, cell.find_first_of(",\n", a) - a);
    }
  }
  return "none";
}

TEST_F(BenchCli, JsonHasEveryCellAndBothPathsAgree) {
  const CliRun run = gradcore("bench " + data_args() + " --batches 1,7 --threads 1,2 --passes 1 --path both --json");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(count_lines_with(run.output, "\"images_per_s\""), 8) << run.output;
  EXPECT_EQ(count_lines_with(run.output, "\"cpu_us_per_image\""), 8) << run.output;
  EXPECT_NE(run.output.find("\"images\": 37"), std::string::npos) << run.output;
  for (int batch : {1, 7}) {
    const std::string plan = accuracy_of(run.output, "plan", batch);
    EXPECT_NE(plan, "none") << run.output;
    EXPECT_EQ(plan, accuracy_of(run.output, "engine", batch)) << "batch " << batch;
  }
}

TEST_F(BenchCli, TablePrintsOneRowPerCell) {
  const CliRun run = gradcore("bench " + data_args() + " --batches 3 --threads 1 --passes 2");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(count_lines_with(run.output, "\nplan "), 1) << run.output;
  EXPECT_NE(run.output.find("37 images, best of 2 passes"), std::string::npos) << run.output;
}

TEST_F(BenchCli, BadOptionsAreNamed) {
  CliRun run = gradcore("bench " + data_args() + " --path fast");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.output.find("--path wants plan, engine or both, got 'fast'"), std::string::npos) << run.output;
  run = gradcore("bench " + data_args() + " --batches 0,64");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.output.find("--batches wants positive integers, got '0,64'"), std::string::npos) << run.output;
  run = gradcore("bench --model " + (dir_ / "missing.gcm").string());
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.output.find("missing.gcm"), std::string::npos) << run.output;
}

}  // namespace
}  // namespace gc::test
