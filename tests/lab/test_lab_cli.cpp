// gradcore train with --stats-every / --dump-graph / --trace-backward, and
// gradcore grads, on real MNIST (skipped when it is absent).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "serialize/model_io.h"
#include "tests/e2e/mnist_fixture.h"
#include "tests/cli_run.h"

namespace gc::test {
namespace {

std::string read_text(const std::filesystem::path& p) {
  std::stringstream s;
  s << std::ifstream(p).rdbuf();
  return s.str();
}

TEST(TrainLab, StatisticsGraphAndTrace) {
  REQUIRE_MNIST();
  auto dir = temp_dir("train");
  CliRun r = gradcore("train --model seed-cnn --epochs 1 --train-limit 640 --test-limit 100 --batch 64 --threads 2"
                      " --stats-every 3 --dump-graph " + (dir / "g.dot").string() + " --trace-backward --data " +
                      mnist_dir() + " --out " + (dir / "m.gcm").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(" conv2d  out [64, 32, 26, 26]  in [64, 1, 28, 28] [32, 1, 3, 3] [32]"), std::string::npos)
      << r.output;

  std::string dot = read_text(dir / "g.dot");
  EXPECT_NE(dot.find("conv1.weight\\n[32, 1, 3, 3]\\ngrad norm"), std::string::npos) << dot;
  EXPECT_EQ(count_lines_with(dot, "shape=box"), 13) << dot;  // 12 layers (flatten records a reshape) + the loss

  std::istringstream stats(read_text(dir / "m.stats.jsonl"));
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(stats, line);) lines.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(lines.size(), 3u);  // 10 steps, every 3rd
  EXPECT_EQ(lines[2]["step"], 9);
  EXPECT_EQ(lines[0]["params"].size(), 10u);
  EXPECT_EQ(lines[0]["layers"].size(), 12u);
  for (const auto& p : lines[0]["params"]) {
    EXPECT_GT(p["grad_norm"].get<double>(), 0) << p;
    EXPECT_GT(p["update_ratio"].get<double>(), 0) << p;
    EXPECT_LT(p["update_ratio"].get<double>(), 1) << p;
  }
  EXPECT_EQ(lines[0]["layers"][1]["name"], "relu1");
  EXPECT_TRUE(lines[0]["layers"][1].contains("dead_fraction"));
}

TEST(GradsCli, DumpHoldsBatchLogitsLossAndEveryGradient) {
  REQUIRE_MNIST();
  auto out = temp_dir("grads") / "grads.gcm";
  CliRun r = gradcore("grads --model mlp --seed 3 --data test --index 5 --count 4 --adam-steps 3 --data-dir " +
                      mnist_dir() + " --out " + out.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  serialize::ModelFile f = serialize::read_model_file(out);
  EXPECT_EQ(f.get_string("model.architecture"), "flatten linear(784,64) relu linear(64,10)");
  EXPECT_EQ(f.tensors.size(), 4u);
  const serialize::Section& g = f.section("grads");
  EXPECT_EQ(g.get_ints("indices"), (std::vector<int64_t>{5, 6, 7, 8}));
  EXPECT_EQ(g.tensor("input").shape, (std::vector<int64_t>{4, 1, 28, 28}));
  EXPECT_EQ(g.tensor("labels").i32s().size(), 4u);
  EXPECT_EQ(g.tensor("logits").shape, (std::vector<int64_t>{4, 10}));
  EXPECT_NEAR(g.tensor("loss").floats()[0], g.get_float("loss"), 1e-5);
  for (const auto& t : f.tensors) EXPECT_EQ(g.tensor("grad." + t.name).shape, t.shape) << t.name;
  auto losses = g.get_floats("adam.losses");
  ASSERT_EQ(losses.size(), 3u);
  EXPECT_DOUBLE_EQ(losses[0], g.get_float("loss"));
  EXPECT_LT(losses[2], losses[0]);

  CliRun bad = gradcore("grads --model mlp --data test --index 9999 --count 2 --data-dir " + mnist_dir() + " --out " +
                        out.string());
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_NE(bad.output.find("runs past the 10000 images"), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace gc::test
