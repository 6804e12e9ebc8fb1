// The byte dtypes of format 1.1 (i8, u8; docs/FORMAT.md): they round-trip
// through both loaders, a file using them is written as 1.1, a file without
// them is still 1.0, and a dtype code past those this reader knows is refused
// by name.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "serialize/model_io.h"

namespace gc::serialize {
namespace {

ModelFile byte_model() {
  ModelFile file;
  file.metadata["model.precision"] = std::string("int8");
  const int8_t weights[6] = {-128, -1, 0, 1, 64, 127};
  file.add_tensor(TensorRecord::from_i8s("conv1.weight", {2, 3}, weights));
  TensorRecord activations{"input", DType::U8, {4}, {}};
  for (uint8_t v : {0, 1, 128, 255}) activations.data.push_back(std::byte{v});
  file.add_tensor(activations);
  return file;
}

uint16_t written_minor(const std::vector<std::byte>& bytes) {
  uint16_t minor;
  std::memcpy(&minor, bytes.data() + 10, 2);
  return minor;
}

TEST(ByteDtypes, RoundTripAsVersion1_1) {
  const ModelFile file = byte_model();
  const std::vector<std::byte> bytes = encode_model_file(file);
  EXPECT_EQ(written_minor(bytes), 1);
  const ModelFile back = parse_model_bytes(bytes, "bytes");
  const auto w = back.tensor("conv1.weight").i8s();
  ASSERT_EQ(w.size(), 6u);
  EXPECT_EQ(w[0], -128);
  EXPECT_EQ(w[5], 127);
  EXPECT_EQ(back.tensor("input").dtype, DType::U8);
  EXPECT_EQ(back.tensor("input").data, file.tensor("input").data);
  EXPECT_THROW(back.tensor("input").i8s(), FormatError);

  const auto path = std::filesystem::temp_directory_path() / "gradcore_byte_dtypes.gcm";
  write_model_file(path, file);
  const MappedModelFile mapped = map_model_file(path);
  const std::span<const std::byte> mapped_weights = mapped.tensor("conv1.weight").data;
  EXPECT_TRUE(std::equal(mapped_weights.begin(), mapped_weights.end(), file.tensor("conv1.weight").data.begin(),
                         file.tensor("conv1.weight").data.end()));
  EXPECT_EQ(verify_model_file(path).summary.version.minor, 1);
  std::filesystem::remove(path);
}

TEST(ByteDtypes, FloatFilesStayVersion1_0) {
  ModelFile file;
  const float w[2] = {1.0f, 2.0f};
  file.add_tensor(TensorRecord::from_floats("fc1.weight", {2}, w));
  EXPECT_EQ(written_minor(encode_model_file(file)), 0);
}

// What a 1.0 reader says of an i8 tensor is "unknown dtype code 6"; this
// reader names the version whose dtypes it knows for codes past 7.
TEST(ByteDtypes, UnknownCodeNamesTheReadersVersion) {
  std::vector<std::byte> bytes = encode_model_file(byte_model());
  const ModelFile back = parse_model_bytes(bytes, "bytes");
  ASSERT_EQ(back.tensors.size(), 2u);
  // Change the u8 tensor's dtype code (7) to 8 and reseal the file checksum.
  const std::string name = "input";
  auto at = std::search(bytes.begin(), bytes.end(), reinterpret_cast<const std::byte*>(name.data()),
                        reinterpret_cast<const std::byte*>(name.data() + name.size()));
  ASSERT_NE(at, bytes.end());
  const size_t dtype_at = static_cast<size_t>(at - bytes.begin()) + name.size();
  uint32_t code;
  std::memcpy(&code, bytes.data() + dtype_at, 4);
  ASSERT_EQ(code, 7u);
  code = 8;
  std::memcpy(bytes.data() + dtype_at, &code, 4);
  try {
    parse_model_bytes(bytes, "bytes");
    FAIL() << "dtype code 8 was accepted";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("tensor 'input': unknown dtype code 8 (this reader knows the dtypes of format 1.1"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace gc::serialize
