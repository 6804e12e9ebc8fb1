// Committed files of released format versions must keep loading. The values
// are recomputed here from the formulas they were written from.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>

#include "serialize/model_io.h"
#include "tests/serialize/sample_models.h"

namespace gc::serialize {
namespace {

const std::filesystem::path kFixtures = GRADCORE_SERIALIZE_FIXTURES;

void expect_formula_floats(const std::span<const float> values, int t, const std::string& name) {
  for (size_t i = 0; i < values.size(); ++i)
    ASSERT_EQ(values[i], testing::tiny_mlp_value(t, static_cast<int64_t>(i))) << name << "[" << i << "]";
}

template <typename Loaded>
void expect_tiny_mlp_v1_0(const Loaded& file) {
  EXPECT_EQ(file.get_string("model.name"), "tiny-mlp");
  EXPECT_EQ(file.get_int("model.version"), 3);
  EXPECT_EQ(file.get_string("model.architecture"), "dense(4,3) relu dense(3,2)");
  EXPECT_EQ(file.get_ints("input.shape"), std::vector<int64_t>{4});
  EXPECT_EQ(file.get_float("input.scale"), 1.0 / 255.0);
  EXPECT_EQ(file.get_strings("labels"), (std::vector<std::string>{"no", "yes"}));
  EXPECT_EQ(file.get_float("train.test_accuracy"), 0.875);
  EXPECT_EQ(file.get_string("created"), "2025-01-01T00:00:00Z");
  EXPECT_EQ(file.parameter_count(), 23);

  const char* names[] = {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"};
  const std::vector<int64_t> shapes[] = {{3, 4}, {3}, {2, 3}, {2}};
  ASSERT_EQ(file.tensors.size(), 4u);
  for (int t = 0; t < 4; ++t) {
    EXPECT_EQ(file.tensors[t].name, names[t]);
    EXPECT_EQ(file.tensors[t].shape, shapes[t]);
    expect_formula_floats(file.tensors[t].floats(), t, names[t]);
  }

  const auto& optimizer = file.section("optimizer");
  EXPECT_EQ(optimizer.get_string("kind"), "adam");
  EXPECT_EQ(optimizer.get_int("step"), 5);
  expect_formula_floats(optimizer.tensor("m.fc2.bias").floats(), 4, "m.fc2.bias");
  expect_formula_floats(optimizer.tensor("v.fc2.bias").floats(), 5, "v.fc2.bias");

  const auto& rng = file.section("rng");
  const auto& state = rng.tensor("state");
  EXPECT_EQ(state.dtype, DType::U64);
  ASSERT_EQ(state.data.size(), 32u);
  uint64_t words[4];
  std::memcpy(words, state.data.data(), 32);
  EXPECT_EQ(words[0], 0x0123456789ABCDEFull);
  EXPECT_EQ(words[3], 0xFFFFFFFFFFFFFFFFull);

  const auto& loader = file.section("loader");
  EXPECT_EQ(loader.get_int("position"), 6);
  ASSERT_EQ(loader.tensor("permutation").data.size(), 32u);
  int32_t permutation[8];
  std::memcpy(permutation, loader.tensor("permutation").data.data(), 32);
  EXPECT_EQ(permutation[0], 3);
  EXPECT_EQ(permutation[7], 4);
}

TEST(Fixture, Version1_0LoadsWithBothLoaders) {
  const auto path = kFixtures / "tiny_mlp_v1_0.gcm";
  ASSERT_TRUE(std::filesystem::exists(path)) << path;
  expect_tiny_mlp_v1_0(read_model_file(path));
  expect_tiny_mlp_v1_0(map_model_file(path));
  const Verification verification = verify_model_file(path);
  EXPECT_TRUE(verification.valid());
  EXPECT_EQ(verification.summary.version.major, 1);
  EXPECT_EQ(verification.summary.version.minor, 0);
}

// A file with nothing newer than 1.0 in it (every float model) is still
// written as 1.0, byte for byte, so 1.0 readers keep reading it.
TEST(Fixture, WriterStillProducesVersion1_0Bytes) {
  const auto version = format_version_of(testing::tiny_mlp_checkpoint());
  EXPECT_EQ(version.major, 1);
  EXPECT_EQ(version.minor, 0);
  const auto path = kFixtures / "tiny_mlp_v1_0.gcm";
  std::vector<std::byte> committed(std::filesystem::file_size(path));
  FILE* f = std::fopen(path.c_str(), "rb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(std::fread(committed.data(), 1, committed.size(), f), committed.size());
  std::fclose(f);
  EXPECT_EQ(encode_model_file(testing::tiny_mlp_checkpoint()), committed);
}

}  // namespace
}  // namespace gc::serialize
