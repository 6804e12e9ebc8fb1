// LayerStats: a line every N steps, norms and update ratios that match a
// direct computation, activation statistics and dead ReLU units.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/ops.h"
#include "layers/layers.h"
#include "layers/optimizer.h"
#include "tools/training/stats.h"

namespace gc::training {
namespace {

double norm(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x * x;
  return std::sqrt(s);
}

struct StatsRun {
  std::unique_ptr<Sequential> model = std::make_unique<Sequential>();
  std::stringstream log;
  std::vector<std::vector<double>> weight_norms;  // [step][parameter], before the update
};

// Trains fc1 → relu → fc2 for `steps` SGD steps with statistics every `every`;
// returns the JSON lines.
std::vector<nlohmann::json> train(StatsRun& run, int steps, int every, double fc1_bias = 0.0) {
  Sequential& m = *run.model;
  m.add(std::make_unique<Linear>(4, 3));
  m.add(std::make_unique<ReLU>());
  m.add(std::make_unique<Linear>(3, 2));
  m.reset_parameters(3, "he");
  dynamic_cast<Linear&>(*m.layers()[0]).bias.fill_(fc1_bias);
  LayerStats stats(m, every, 0, run.log);
  Sgd sgd(m.parameters(), 0.1, SgdOptions{});
  Tensor x = Tensor::from_vector({2, 4}, std::vector<float>{0.5f, -1.0f, 2.0f, 0.1f, -0.3f, 0.8f, 1.5f, -2.0f});
  for (int step = 0; step < steps; ++step) {
    softmax_cross_entropy(m(x), std::vector<int32_t>{1, 0}).backward();
    stats.before_update(step);
    run.weight_norms.emplace_back();
    for (ParamRef p : m.parameters()) run.weight_norms.back().push_back(norm(p.tensor->to_doubles()));
    sgd.step();
    stats.after_update(step);
    sgd.zero_grad();
  }
  std::vector<nlohmann::json> lines;
  std::string line;
  while (std::getline(run.log, line)) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

TEST(LayerStats, LineEveryNStepsWithConsistentNorms) {
  StatsRun run;
  auto lines = train(run, 7, 3);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["step"], 3);
  EXPECT_EQ(lines[1]["step"], 6);
  for (const auto& line : lines) {
    EXPECT_EQ(line["type"], "stats");
    ASSERT_EQ(line["params"].size(), 4u);
    EXPECT_EQ(line["params"][0]["name"], "fc1.weight");
    EXPECT_EQ(line["params"][3]["name"], "fc2.bias");
    const auto& before = run.weight_norms[line["step"].get<size_t>() - 1];
    for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(line["params"][i]["weight_norm"].get<double>(), before[i], 1e-12);
    for (const auto& p : line["params"]) {
      // Plain SGD: ‖Δw‖ = lr·‖g‖.
      EXPECT_NEAR(p["update_norm"].get<double>(), 0.1 * p["grad_norm"].get<double>(), 1e-6);
      EXPECT_NEAR(p["update_ratio"].get<double>(), p["update_norm"].get<double>() / p["weight_norm"].get<double>(),
                  1e-12);
    }
    ASSERT_EQ(line["layers"].size(), 3u);
    EXPECT_EQ(line["layers"][1]["kind"], "relu");
    EXPECT_TRUE(line["layers"][1].contains("dead_fraction"));
    EXPECT_FALSE(line["layers"][0].contains("dead_fraction"));
    int64_t counted = 0;
    for (int64_t c : line["layers"][0]["hist"]["counts"]) counted += c;
    EXPECT_EQ(counted, 2 * 3);
  }
}

TEST(LayerStats, ActivationMeanStdMatchDirectComputation) {
  StatsRun run;
  auto lines = train(run, 1, 1);
  ASSERT_EQ(lines.size(), 1u);
  // The line describes the forward before the first update: rebuild fc1 as it was.
  Sequential fresh;
  fresh.add(std::make_unique<Linear>(4, 3));
  fresh.reset_parameters(3, "he");
  dynamic_cast<Linear&>(*fresh.layers()[0]).bias.fill_(0.0);
  Tensor x = Tensor::from_vector({2, 4}, std::vector<float>{0.5f, -1.0f, 2.0f, 0.1f, -0.3f, 0.8f, 1.5f, -2.0f});
  std::vector<double> h = fresh(x).to_doubles();
  double mean = 0, var = 0;
  for (double v : h) mean += v / 6;
  for (double v : h) var += (v - mean) * (v - mean) / 6;
  EXPECT_NEAR(lines[0]["layers"][0]["mean"].get<double>(), mean, 1e-6);
  EXPECT_NEAR(lines[0]["layers"][0]["std"].get<double>(), std::sqrt(var), 1e-6);
}

TEST(LayerStats, DeadReluUnits) {
  StatsRun run;
  auto lines = train(run, 1, 1, -100.0);  // every fc1 output negative: all 3 units dead
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_DOUBLE_EQ(lines[0]["layers"][1]["dead_fraction"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(lines[0]["layers"][1]["zero_fraction"].get<double>(), 1.0);
  StatsRun alive;
  auto live = train(alive, 1, 1, 100.0);  // every output positive: none dead
  EXPECT_DOUBLE_EQ(live[0]["layers"][1]["dead_fraction"].get<double>(), 0.0);
}

TEST(LayerStats, RejectsZeroInterval) {
  Sequential m;
  std::stringstream log;
  EXPECT_THROW(LayerStats(m, 0, 0, log), std::invalid_argument);
}

}  // namespace
}  // namespace gc::training
