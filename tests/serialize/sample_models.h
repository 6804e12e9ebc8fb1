// Small model files built from formulas, shared by the serialize tests and the
// fixture generator. Values are exactly representable (k/16), so a test can
// recompute them bit for bit on any compiler.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "serialize/model_file.h"

namespace gc::serialize::testing {

// Value i of tensor number t of the tiny MLP.
inline float tiny_mlp_value(int t, int64_t i) {
  return static_cast<float>((i * 7 + t * 3) % 17 - 8) / 16.0f;
}

inline TensorRecord formula_tensor(std::string name, std::vector<int64_t> shape, int t) {
  int64_t count = 1;
  for (int64_t dim : shape) count *= dim;
  std::vector<float> values(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) values[static_cast<size_t>(i)] = tiny_mlp_value(t, i);
  return TensorRecord::from_floats(std::move(name), std::move(shape), values.data());
}

// A 4 -> 3 -> 2 MLP checkpoint: the well-known model metadata, four
// parameters, and optimizer, rng and loader sections. It is the content of
// fixtures/tiny_mlp_v1_0.gcm.
inline ModelFile tiny_mlp_checkpoint() {
  ModelFile file;
  file.metadata["model.name"] = std::string("tiny-mlp");
  file.metadata["model.version"] = int64_t{3};
  file.metadata["model.architecture"] = std::string("dense(4,3) relu dense(3,2)");
  file.metadata["input.shape"] = std::vector<int64_t>{4};
  file.metadata["input.scale"] = 1.0 / 255.0;
  file.metadata["input.mean"] = 0.1307;
  file.metadata["input.std"] = 0.3081;
  file.metadata["labels"] = std::vector<std::string>{"no", "yes"};
  file.metadata["train.dataset"] = std::string("synthetic");
  file.metadata["train.epochs"] = int64_t{2};
  file.metadata["train.seed"] = int64_t{42};
  file.metadata["train.test_accuracy"] = 0.875;
  file.metadata["gradcore.version"] = std::string("0.1.0");
  file.metadata["created"] = std::string("2025-01-01T00:00:00Z");
  file.add_tensor(formula_tensor("fc1.weight", {3, 4}, 0));
  file.add_tensor(formula_tensor("fc1.bias", {3}, 1));
  file.add_tensor(formula_tensor("fc2.weight", {2, 3}, 2));
  file.add_tensor(formula_tensor("fc2.bias", {2}, 3));

  Section& optimizer = file.add_section("optimizer");
  optimizer.metadata["kind"] = std::string("adam");
  optimizer.metadata["step"] = int64_t{5};
  optimizer.metadata["lr"] = 0.001;
  optimizer.metadata["beta1"] = 0.9;
  optimizer.metadata["beta2"] = 0.999;
  optimizer.metadata["eps"] = 1e-8;
  optimizer.add_tensor(formula_tensor("m.fc2.bias", {2}, 4));
  optimizer.add_tensor(formula_tensor("v.fc2.bias", {2}, 5));

  Section& rng = file.add_section("rng");
  rng.metadata["kind"] = std::string("xoshiro256**");
  const uint64_t state[4] = {0x0123456789ABCDEFull, 0xFEDCBA9876543210ull, 42, 0xFFFFFFFFFFFFFFFFull};
  rng.add_tensor(TensorRecord::from_u64s("state", {4}, state));

  Section& loader = file.add_section("loader");
  loader.metadata["epoch"] = int64_t{1};
  loader.metadata["position"] = int64_t{6};
  loader.metadata["shuffle_seed"] = int64_t{7};
  const int32_t permutation[8] = {3, 0, 7, 5, 1, 6, 2, 4};
  loader.add_tensor(TensorRecord::from_i32s("permutation", {8}, permutation));
  return file;
}

}  // namespace gc::serialize::testing
