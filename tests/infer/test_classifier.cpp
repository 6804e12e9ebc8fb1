// Classifier::forward splits large batches into slices that the OpenMP
// threads run through the whole network; the logits must not depend on it.
#include <gtest/gtest.h>

#include <omp.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <vector>

#include "layers/spec.h"
#include "serialize/model_store.h"
#include "infer/classifier.h"

namespace gc::infer {
namespace {

class ClassifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("gradcore-classifier-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    auto model = build_model("seed-cnn");
    model->reset_parameters(5, "he");
    save_model(path(), *model, ModelInfo{});
    saved_threads_ = omp_get_max_threads();
  }
  void TearDown() override {
    omp_set_num_threads(saved_threads_);
    std::filesystem::remove_all(dir_);
  }
  std::filesystem::path path() const { return dir_ / "seed.gcm"; }

  std::filesystem::path dir_;
  int saved_threads_ = 1;
};

std::vector<float> random_inputs(int64_t n, int64_t size) {
  std::mt19937 rng(17);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(n * size);
  for (float& v : x) v = normal(rng);
  return x;
}

// 137 images on two threads: slices of 64, 64 and 9, taken in turn. The
// reference is one image at a time, which never slices.
TEST_F(ClassifierTest, SlicedBatchMatchesOneImageAtATime) {
  Classifier classifier(path());
  const int64_t n = 137, size = classifier.input_size(), classes = classifier.classes();
  std::vector<float> x = random_inputs(n, size);

  omp_set_num_threads(2);
  std::vector<float> batched(n * classes);
  classifier.forward(x.data(), n, batched.data());

  std::vector<float> single(n * classes);
  for (int64_t i = 0; i < n; ++i) classifier.forward(x.data() + i * size, 1, single.data() + i * classes);

  // Batch 1 runs im2col convolutions and the slices Winograd: equal up to rounding.
  for (int64_t k = 0; k < n * classes; ++k)
    ASSERT_NEAR(batched[k], single[k], 1e-4 * (1 + std::fabs(single[k]))) << "image " << k / classes;
}

TEST_F(ClassifierTest, ThreadCountDoesNotChangeTheLogits) {
  Classifier classifier(path());
  const int64_t n = 200, size = classifier.input_size(), classes = classifier.classes();
  std::vector<float> x = random_inputs(n, size);
  std::vector<float> one(n * classes), two(n * classes);
  omp_set_num_threads(1);
  classifier.forward(x.data(), n, one.data());
  omp_set_num_threads(2);
  classifier.forward(x.data(), n, two.data());
  for (int64_t k = 0; k < n * classes; ++k)
    ASSERT_NEAR(one[k], two[k], 1e-4 * (1 + std::fabs(one[k]))) << "image " << k / classes;
}

// A model with a NaN weight (a diverged training run) gives no answer
// rather than NaN probabilities.
TEST_F(ClassifierTest, NonFiniteLogitsAreAnErrorNotAnAnswer) {
  auto model = build_model("seed-cnn");
  model->reset_parameters(5, "he");
  auto params = model->parameters();
  params.back().tensor->data<float>()[0] = std::nanf("");
  save_model(dir_ / "nan.gcm", *model, ModelInfo{});
  Classifier classifier(dir_ / "nan.gcm");
  std::vector<uint8_t> pixels(classifier.input_size(), 7);
  EXPECT_THROW(classifier.classify(pixels.data(), 1), std::runtime_error);
  Classifier healthy(path());
  EXPECT_EQ(healthy.classify(pixels.data(), 1).size(), 1u);
}

}  // namespace
}  // namespace gc::infer
