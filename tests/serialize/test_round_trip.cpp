// Save -> load gives bitwise-identical tensors and identical metadata, with
// both the copying and the mmap loader.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>

#include "serialize/model_io.h"
#include "tests/serialize/sample_models.h"

namespace gc::serialize {
namespace {

namespace fs = std::filesystem;

fs::path temp_path(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("gc_serialize_rt_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}

bool same_bytes(std::span<const std::byte> a, std::span<const std::byte> b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

// A model with awkward values: NaN payloads, infinities, -0, denormals, an
// empty tensor, a scalar, and every metadata type.
ModelFile awkward_model() {
  ModelFile file = testing::tiny_mlp_checkpoint();
  std::vector<float> odd = {std::numeric_limits<float>::quiet_NaN(), -0.0f, std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::denorm_min(), 1e38f, -3.5f, 0.1f};
  uint32_t nan_with_payload = 0x7FC01234;
  std::memcpy(&odd[0], &nan_with_payload, 4);
  file.add_tensor(TensorRecord::from_floats("odd", {7}, odd.data()));
  file.add_tensor(TensorRecord::from_floats("empty", {0, 5}, nullptr));
  const float scalar = 2.5f;
  file.add_tensor(TensorRecord::from_floats("scalar", {}, &scalar));
  file.metadata["nan"] = std::numeric_limits<double>::quiet_NaN();
  file.metadata["empty.list"] = std::vector<std::string>{};
  file.metadata["floats"] = std::vector<double>{1.5, -0.0, 1e300};
  file.metadata["unicode"] = std::string("Gr\xC3\xBC\xC3\x9F" "e \xE2\x9C\x93");
  return file;
}

void expect_same_metadata(const SectionMetadata& a, const SectionMetadata& b) {
  ASSERT_EQ(a.metadata.size(), b.metadata.size()) << a.name;
  for (const auto& [key, value] : a.metadata) {
    ASSERT_TRUE(b.has(key)) << key;
    const MetaValue& other = b.metadata.at(key);
    ASSERT_EQ(value.index(), other.index()) << key;
    if (const double* d = std::get_if<double>(&value)) {  // compare bits: NaN != NaN
      EXPECT_EQ(std::memcmp(d, &std::get<double>(other), sizeof(double)), 0) << key;
    } else if (!std::holds_alternative<std::vector<double>>(value)) {
      EXPECT_TRUE(value == other) << key;
    } else {
      const auto& x = std::get<std::vector<double>>(value);
      const auto& y = std::get<std::vector<double>>(other);
      ASSERT_EQ(x.size(), y.size());
      EXPECT_EQ(std::memcmp(x.data(), y.data(), x.size() * sizeof(double)), 0) << key;
    }
  }
}

template <typename LoadedSection>
void expect_same_section(const Section& original, const LoadedSection& loaded) {
  EXPECT_EQ(original.name, loaded.name);
  expect_same_metadata(original, loaded);
  ASSERT_EQ(original.tensors.size(), loaded.tensors.size());
  for (size_t i = 0; i < original.tensors.size(); ++i) {
    const TensorRecord& a = original.tensors[i];
    const auto& b = loaded.tensors[i];
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.dtype, b.dtype) << a.name;
    EXPECT_EQ(a.shape, b.shape) << a.name;
    EXPECT_TRUE(same_bytes(a.data, b.data)) << a.name;
  }
}

template <typename Loaded>
void expect_same_file(const ModelFile& original, const Loaded& loaded) {
  expect_same_section(original, loaded);
  ASSERT_EQ(original.sections.size(), loaded.sections.size());
  for (size_t i = 0; i < original.sections.size(); ++i) expect_same_section(original.sections[i], loaded.sections[i]);
}

TEST(RoundTrip, CopyingLoaderIsBitwiseExact) {
  const ModelFile original = awkward_model();
  const fs::path path = temp_path("copy.gcm");
  write_model_file(path, original);
  expect_same_file(original, read_model_file(path));
}

TEST(RoundTrip, MmapLoaderIsBitwiseExactAndAligned) {
  const ModelFile original = awkward_model();
  const fs::path path = temp_path("mmap.gcm");
  write_model_file(path, original);
  const MappedModelFile mapped = map_model_file(path);
  expect_same_file(original, mapped);
  for (const TensorView& view : mapped.tensors)
    EXPECT_EQ(reinterpret_cast<uintptr_t>(view.data.data()) % 64, 0u) << view.name;
  EXPECT_EQ(mapped.mapped_bytes(), fs::file_size(path));
}

TEST(RoundTrip, MappedViewsOutliveAMove) {
  const fs::path path = temp_path("move.gcm");
  write_model_file(path, testing::tiny_mlp_checkpoint());
  MappedModelFile moved;
  {
    MappedModelFile mapped = map_model_file(path);
    moved = std::move(mapped);
  }
  EXPECT_EQ(moved.tensor("fc1.bias").floats()[1], testing::tiny_mlp_value(1, 1));
}

TEST(RoundTrip, EncodingIsDeterministic) {
  EXPECT_EQ(encode_model_file(awkward_model()), encode_model_file(awkward_model()));
}

TEST(RoundTrip, LargeRandomTensor) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal;
  std::vector<float> values(300'001);
  for (float& v : values) v = normal(rng);
  ModelFile file;
  file.add_tensor(TensorRecord::from_floats("big", {300'001}, values.data()));
  const ModelFile loaded = parse_model_bytes(encode_model_file(file), "memory");
  ASSERT_EQ(loaded.tensor("big").floats().size(), values.size());
  EXPECT_EQ(std::memcmp(loaded.tensor("big").floats().data(), values.data(), values.size() * 4), 0);
}

TEST(RoundTrip, TypedGettersNameTheProblem) {
  const ModelFile file = parse_model_bytes(encode_model_file(testing::tiny_mlp_checkpoint()), "memory");
  EXPECT_EQ(file.get_string("model.architecture"), "dense(4,3) relu dense(3,2)");
  EXPECT_EQ(file.get_ints("input.shape"), std::vector<int64_t>{4});
  EXPECT_EQ(file.get_float("train.epochs"), 2.0);  // ints convert to float
  EXPECT_EQ(file.section("optimizer").get_int("step"), 5);
  EXPECT_EQ(file.parameter_count(), 12 + 3 + 6 + 2);
  try {
    file.get_int("model.name");
    ADD_FAILURE() << "wrong type accepted";
  } catch (const FormatError& e) {
    EXPECT_STREQ(e.what(), "section 'model': metadata 'model.name' is string, expected int");
  }
  try {
    file.get_string("model.nonexistent");
    ADD_FAILURE() << "missing key accepted";
  } catch (const FormatError& e) {
    EXPECT_STREQ(e.what(), "section 'model': metadata 'model.nonexistent' is missing");
  }
  EXPECT_THROW(file.tensor("fc3.weight"), FormatError);
  EXPECT_THROW(file.section("scheduler"), FormatError);
  EXPECT_THROW(file.tensor("fc1.weight").u64s(), FormatError);
}

}  // namespace
}  // namespace gc::serialize
