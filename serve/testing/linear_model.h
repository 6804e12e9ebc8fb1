// A deterministic stand-in model for the serving tests and benchmark: one
// seeded linear layer 784 → 10, stored in a small test-only file format so
// RELOAD can be tested with real files, corrupt ones included. Not a format
// for real models (that is docs/FORMAT.md).
//
// File layout, little-endian: the 8 bytes "GCLINv01", i64 version, u64 seed,
// 7840 f32 weights (row per class), 10 f32 biases, u32 FNV-1a of all bytes
// before it.
#pragma once

#include "serve/model.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace gc::serve::testing {

class LinearTestModel : public InferenceModel {
 public:
  static constexpr int kPixels = 28 * 28;
  static constexpr int kClasses = 10;

  // Weights drawn from a fixed generator seeded with `seed`.
  LinearTestModel(int64_t version, uint64_t seed);

  std::string name() const override { return "linear-test"; }
  int64_t version() const override { return version_; }
  std::string architecture() const override { return "dense 784->10 (test model)"; }
  std::vector<std::string> labels() const override;
  std::array<int, 3> input_shape() const override { return {1, 28, 28}; }
  Normalisation normalisation() const override { return {1.0 / 255, 0.1307, 0.3081}; }
  void normalise(const uint8_t* pixels, int n, float* out) const override;
  void forward(const float* images, int n, float* logits) const override;

  void save(const std::string& path) const;

 private:
  LinearTestModel(int64_t version, uint64_t seed, std::vector<float> weights, std::vector<float> bias);
  friend std::shared_ptr<const InferenceModel> load_linear_test_model(const std::string& path);

  int64_t version_;
  uint64_t seed_;
  std::vector<float> weights_;  // kClasses × kPixels
  std::vector<float> bias_;
};

void save_linear_test_model(const std::string& path, int64_t version, uint64_t seed);
// A ModelLoader: throws on a missing, short or corrupt file.
std::shared_ptr<const InferenceModel> load_linear_test_model(const std::string& path);

}  // namespace gc::serve::testing
