// The compiled inference plan (infer/plan.h) against the engine's own
// forward pass, on every preset and on specs that take the other steps
// (strides, padding, per-axis windows, avg-pool, tanh, sigmoid, dropout, a
// pool the fused kernel cannot take), at batch sizes 1 to 300 on one and
// two threads.
#include <gtest/gtest.h>

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "infer/plan.h"
#include "layers/spec.h"

namespace gc::infer {
namespace {

std::vector<float> random_inputs(int64_t count, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(count);
  for (float& v : x) v = normal(rng);
  return x;
}

const std::vector<std::string>& specs() {
  static const std::vector<std::string> all = {
      "seed-cnn",
      "lenet5",
      "mlp",
      "conv(1,5,3,2,1) tanh avgpool(2) flatten linear(245,7) sigmoid",
      "conv(1,8,5) maxpool(2) relu conv(8,12,3,1,1,2) relu maxpool(3,2) flatten dropout(0.5) linear(192,3)",
      "conv(1,4,3) relu conv(4,9,3) sigmoid maxpool(2) flatten linear(1296,33) relu linear(33,2)",
      "flatten linear(784,17) tanh linear(17,17) relu linear(17,5)",
      "conv(1,16,3x5,2x1,1x2) relu maxpool(2) flatten linear(1568,10)",
  };
  return all;
}

class PlanTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { saved_threads_ = omp_get_max_threads(); }
  void TearDown() override { omp_set_num_threads(saved_threads_); }
  int saved_threads_ = 1;
};

// |plan − engine| ≤ 1e-6 · the largest |engine| output of the image: the
// convolutions are the same kernels; the linear layers' sums may round in
// another order (kernels/cpu/linear_rows.h against sgemm).
TEST_P(PlanTest, MatchesTheEngineForwardAtEveryBatchSize) {
  auto model = build_model(GetParam());
  model->reset_parameters(11, "he");
  model->set_training_mode(false);
  const Plan plan(*model, {1, 28, 28});
  const int64_t outputs = plan.output_size();
  Workspace workspace;
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    for (int64_t n : {1, 2, 3, 7, 8, 9, 16, 17, 33, 64, 127, 300}) {
      const std::vector<float> x = random_inputs(n * plan.input_size(), unsigned(n));
      std::vector<float> got(n * outputs, std::nanf(""));
      plan.run(x.data(), n, got.data(), workspace);
      Tensor input = Tensor::empty({n, 1, 28, 28});
      std::copy(x.begin(), x.end(), input.data<float>());
      NoGradGuard no_grad;
      const Tensor want = (*model)(input);
      ASSERT_EQ(want.numel(), n * outputs);
      const float* w = want.data<float>();
      for (int64_t i = 0; i < n; ++i) {
        float largest = 0;
        for (int64_t o = 0; o < outputs; ++o) largest = std::max(largest, std::fabs(w[i * outputs + o]));
        for (int64_t o = 0; o < outputs; ++o) {
          const int64_t k = i * outputs + o;
          ASSERT_TRUE(std::fabs(got[k] - w[k]) <= 1e-6f * largest)
              << GetParam() << ", " << threads << " threads, batch " << n << ", image " << i << ", output " << o
              << ": plan " << got[k] << ", engine " << w[k];
        }
      }
    }
  }
}

// The classes of 300 images, run as one batch, must come out the same in
// batches of 1, 5 and 64, on two threads (Winograd from 8 images, im2col
// below: the logits differ in rounding only).
TEST_P(PlanTest, ClassesDoNotDependOnTheBatchSize) {
  auto model = build_model(GetParam());
  model->reset_parameters(3, "he");
  model->set_training_mode(false);
  const Plan plan(*model, {1, 28, 28});
  const int64_t n = 300, size = plan.input_size(), outputs = plan.output_size();
  const std::vector<float> x = random_inputs(n * size, 99);
  omp_set_num_threads(2);
  Workspace workspace;
  std::vector<float> whole(n * outputs);
  plan.run(x.data(), n, whole.data(), workspace);
  auto label = [&](const float* row) { return std::max_element(row, row + outputs) - row; };
  for (int64_t batch : {1, 5, 64}) {
    std::vector<float> pieces(n * outputs);
    for (int64_t begin = 0; begin < n; begin += batch)
      plan.run(x.data() + begin * size, std::min(batch, n - begin), pieces.data() + begin * outputs, workspace);
    for (int64_t i = 0; i < n; ++i)
      ASSERT_EQ(label(&pieces[i * outputs]), label(&whole[i * outputs])) << "batch " << batch << ", image " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Specs, PlanTest, ::testing::ValuesIn(specs()));

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// The seed CNN's eleven layers become five steps: conv + ReLU + max-pool
// twice, conv + ReLU, linear + ReLU, linear.
TEST(PlanSteps, SeedCnnFusesWhatTheHeaderSays) {
  auto model = build_model("seed-cnn");
  const std::vector<std::string> steps = lines(Plan(*model, {1, 28, 28}).describe());
  ASSERT_EQ(steps.size(), 5u);
  EXPECT_NE(steps[0].find("conv(1,32,3) + relu + maxpool(2)"), std::string::npos) << steps[0];
  EXPECT_NE(steps[1].find("conv(32,64,3) + relu + maxpool(2)"), std::string::npos) << steps[1];
  EXPECT_NE(steps[2].find("conv(64,64,3) + relu"), std::string::npos) << steps[2];
  EXPECT_NE(steps[3].find("linear(576,64) + relu"), std::string::npos) << steps[3];
  EXPECT_NE(steps[4].find("linear(64,10)"), std::string::npos) << steps[4];
}

TEST(PlanSteps, RefusesDoubleParametersNamingTheLayer) {
  auto model = build_model("mlp");
  model->convert_parameters(DType::F64);
  try {
    Plan plan(*model, {1, 28, 28});
    FAIL() << "a float64 model was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("layer 2 (fc1"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace gc::infer
