// The writer refuses models that would make an unreadable or ambiguous file.
#include <gtest/gtest.h>

#include <stdexcept>

#include "serialize/model_io.h"

namespace gc::serialize {
namespace {

void expect_rejected(const ModelFile& file, const std::string& fragment) {
  try {
    encode_model_file(file);
    ADD_FAILURE() << "accepted; expected: " << fragment;
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TensorRecord floats(std::string name, std::vector<int64_t> shape) {
  std::vector<float> values(64, 1.0f);
  return TensorRecord::from_floats(std::move(name), std::move(shape), values.data());
}

TEST(WriterRejects, SizeNotMatchingShape) {
  ModelFile file;
  TensorRecord record = floats("w", {2, 3});
  record.data.pop_back();
  file.add_tensor(record);
  expect_rejected(file, "tensor 'w': data has 23 bytes, shape × f32 needs 24");
}

TEST(WriterRejects, DuplicateNames) {
  ModelFile file;
  file.add_tensor(floats("w", {2}));
  file.add_tensor(floats("w", {3}));
  expect_rejected(file, "tensor 'w' appears twice");
  ModelFile sections;
  sections.add_section("rng");
  sections.add_section("rng");
  expect_rejected(sections, "section 'rng' appears twice");
  ModelFile model_again;
  model_again.add_section("model");
  expect_rejected(model_again, "section 'model' appears twice");
}

TEST(WriterRejects, BadNames) {
  ModelFile empty_name;
  empty_name.add_tensor(floats("", {1}));
  expect_rejected(empty_name, "name must be 1..1024 bytes, got 0");
  ModelFile bad_utf8;
  bad_utf8.metadata["\xFF"] = int64_t{1};
  expect_rejected(bad_utf8, "metadata name is not valid UTF-8");
}

TEST(WriterRejects, ReservedDtypeAndHighRank) {
  ModelFile reserved;
  TensorRecord record = floats("q", {4});
  record.dtype = DType::I8Q;
  reserved.add_tensor(record);
  expect_rejected(reserved, "dtype i8q cannot be written");
  ModelFile high_rank;
  high_rank.add_tensor(floats("r", {1, 1, 1, 1, 1, 1, 1, 1, 1}));
  expect_rejected(high_rank, "rank 9 exceeds 8");
}

}  // namespace
}  // namespace gc::serialize
