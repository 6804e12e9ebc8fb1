// Damaged files: every truncation, single-byte flips, and hand-made breaks of
// each reader rule. Each must be a FormatError, never a crash or a model.
#include <gtest/gtest.h>

#include <random>

#include "serialize/model_io.h"
#include "tests/serialize/byte_edits.h"
#include "tests/serialize/sample_models.h"

namespace gc::serialize {
namespace {

using testing::expect_format_error;
using testing::peek;
using testing::poke;
using testing::reseal;

std::vector<std::byte> tiny_file() { return encode_model_file(testing::tiny_mlp_checkpoint()); }

TEST(Corruption, EveryTruncationIsRejected) {
  const std::vector<std::byte> bytes = tiny_file();
  for (size_t length = 0; length < bytes.size(); ++length) {
    std::span<const std::byte> cut = std::span(bytes).first(length);
    EXPECT_THROW(parse_model_bytes(cut, "cut.gcm"), FormatError) << "length " << length;
    EXPECT_THROW(verify_model_bytes(cut, "cut.gcm"), FormatError) << "length " << length;
  }
}

TEST(Corruption, AppendedBytesAreRejected) {
  std::vector<std::byte> bytes = tiny_file();
  bytes.push_back(std::byte{0});
  expect_format_error(bytes, "(extra bytes)");
}

TEST(Corruption, SeededRandomByteChangesAreRejected) {
  const std::vector<std::byte> original = tiny_file();
  std::mt19937 rng(2024);
  for (int trial = 0; trial < 500; ++trial) {
    std::vector<std::byte> bytes = original;
    const size_t at = rng() % bytes.size();
    const auto change = static_cast<unsigned char>(1 + rng() % 255);  // never 0: the byte really changes
    bytes[at] ^= std::byte{change};
    EXPECT_THROW(parse_model_bytes(bytes, "flip.gcm"), FormatError) << "byte " << at << " xor " << int(change);
  }
}

TEST(Corruption, EveryBitOfEveryByteIsProtected) {
  const std::vector<std::byte> original = tiny_file();
  for (size_t at = 0; at < original.size(); ++at)
    for (int bit : {0, 7}) {
      std::vector<std::byte> bytes = original;
      bytes[at] ^= std::byte(1u << bit);
      EXPECT_THROW(parse_model_bytes(bytes, "flip.gcm"), FormatError) << "byte " << at << " bit " << bit;
    }
}

TEST(Corruption, DamagedTensorIsNamed) {
  std::vector<std::byte> bytes = tiny_file();
  const ModelFile file = parse_model_bytes(bytes, "ok.gcm");
  const Verification verification = verify_model_bytes(bytes, "ok.gcm");
  ASSERT_TRUE(verification.valid());
  // fc2.weight is the third tensor; its data starts at the third 64-byte slot.
  const uint64_t data_offset = peek<uint64_t>(bytes, 40);
  bytes[data_offset + 128 + 5] ^= std::byte{0x10};
  expect_format_error(bytes, "section 'model': tensor 'fc2.weight': CRC-32C mismatch (stored 0x");

  const Verification damaged = verify_model_bytes(bytes, "bad.gcm");
  EXPECT_FALSE(damaged.valid());
  int bad = 0;
  for (const ChecksumCheck& check : damaged.tensor_checksums)
    if (!check.ok()) {
      ++bad;
      EXPECT_EQ(check.tensor, "fc2.weight");
    }
  EXPECT_EQ(bad, 1);
  EXPECT_FALSE(damaged.file_checksum.ok());
}

TEST(Corruption, PaddingByteIsCaughtByTheFileChecksum) {
  std::vector<std::byte> bytes = tiny_file();
  const uint64_t data_offset = peek<uint64_t>(bytes, 40);
  bytes[data_offset + 60] ^= std::byte{1};  // fc1.weight is 48 bytes: 60 is padding
  expect_format_error(bytes, "trailer: file CRC-32C mismatch");
}

TEST(Version, NewerMajorIsRefused) {
  std::vector<std::byte> bytes = tiny_file();
  poke<uint16_t>(bytes, 8, 3);
  reseal(bytes);
  expect_format_error(bytes, "test.gcm: header: version 3.0 is newer than this reader (1.x)");
}

TEST(Version, MajorZeroIsRefused) {
  std::vector<std::byte> bytes = tiny_file();
  poke<uint16_t>(bytes, 8, 0);
  reseal(bytes);
  expect_format_error(bytes, "header: version 0.0 is unknown");
}

// A later minor may grow the header; this reader skips what it does not know.
// Built from a tensor-free file so only header fields move.
TEST(Version, LaterMinorWithLongerHeaderIsRead) {
  ModelFile file;
  file.metadata["model.name"] = std::string("no-tensors");
  std::vector<std::byte> bytes = encode_model_file(file);
  bytes.insert(bytes.begin() + 64, 64, std::byte{0xAB});  // 64 bytes of future header fields
  poke<uint16_t>(bytes, 10, 7);                             // minor 7
  poke<uint32_t>(bytes, 16, 128);                           // header_size
  poke<uint64_t>(bytes, 24, 128);                           // tables_offset
  poke<uint64_t>(bytes, 40, peek<uint64_t>(bytes, 40) + 64);  // data_offset
  poke<uint64_t>(bytes, 56, bytes.size());                  // file_size
  reseal(bytes);
  const Verification verification = verify_model_bytes(bytes, "future.gcm");
  EXPECT_TRUE(verification.valid());
  EXPECT_EQ(verification.summary.version.minor, 7);
  EXPECT_EQ(verification.contents.get_string("model.name"), "no-tensors");
}

TEST(Header, BadMagicSaysWhatItIs) {
  std::vector<std::byte> bytes = tiny_file();
  bytes[1] = std::byte{'X'};
  expect_format_error(bytes, "header: magic is 89 58 43 4D 0D 0A 1A 0A, expected 89 47 43 4D 0D 0A 1A 0A");
}

TEST(Header, BigEndianFileIsRefused) {
  std::vector<std::byte> bytes = tiny_file();
  poke<uint32_t>(bytes, 12, 0x04030201);
  reseal(bytes);
  expect_format_error(bytes, "the file is big-endian");
}

TEST(Header, TooSmallFile) {
  expect_format_error(std::vector<std::byte>(10), "file is 10 bytes; a model file has at least 80");
}

TEST(Tables, HugeCountsAreRejectedBeforeAllocating) {
  std::vector<std::byte> bytes = tiny_file();
  // Section 0: name "model" (4 + 5 bytes) then metadata_count at 64 + 9.
  poke<uint32_t>(bytes, 64 + 9, 0xFFFFFFFF);
  reseal(bytes);
  expect_format_error(bytes, "section 'model': metadata count: count 4294967295 cannot fit");
  bytes = tiny_file();
  poke<uint32_t>(bytes, 20, 0x7FFFFFFF);  // section_count
  reseal(bytes);
  expect_format_error(bytes, "header: section_count 2147483647 is not between 1 and");
}

TEST(Tables, BadUtf8NameIsRejected) {
  ModelFile file;
  file.metadata["ab"] = int64_t{1};
  std::vector<std::byte> bytes = encode_model_file(file);
  // model section: name (9 bytes), counts (8), then key length (4) and "ab".
  bytes[64 + 9 + 8 + 4] = std::byte{0xC0};  // 0xC0 0x62: an overlong encoding
  reseal(bytes);
  expect_format_error(bytes, "metadata entry 0 key: is not valid UTF-8");
}

// Tensor-table attacks, on a file with one tensor whose table entry sits at a
// known place: name "w" (5), dtype (4), rank (4), dim (8), offset, length, crc.
struct OneTensorFile {
  std::vector<std::byte> bytes;
  size_t entry;  // where the tensor entry starts
  OneTensorFile() {
    ModelFile file;
    const float values[4] = {1, 2, 3, 4};
    file.add_tensor(TensorRecord::from_floats("w", {4}, values));
    bytes = encode_model_file(file);
    entry = 64 + 9 + 8;
  }
  size_t dtype_at() const { return entry + 5; }
  size_t rank_at() const { return entry + 9; }
  size_t dim_at() const { return entry + 13; }
  size_t offset_at() const { return entry + 21; }
  size_t length_at() const { return entry + 29; }
};

TEST(Tensors, EachRuleIsChecked) {
  {
    OneTensorFile f;
    poke<uint32_t>(f.bytes, f.dtype_at(), 3);
    reseal(f.bytes);
    expect_format_error(f.bytes, "tensor 'w': dtype i8q (code 3) is reserved");
  }
  {
    OneTensorFile f;
    poke<uint32_t>(f.bytes, f.dtype_at(), 99);
    reseal(f.bytes);
    expect_format_error(f.bytes, "tensor 'w': unknown dtype code 99");
  }
  {
    OneTensorFile f;
    poke<uint32_t>(f.bytes, f.rank_at(), 9);
    reseal(f.bytes);
    expect_format_error(f.bytes, "tensor 'w': rank 9 exceeds 8");
  }
  {
    OneTensorFile f;
    poke<int64_t>(f.bytes, f.dim_at(), -4);
    reseal(f.bytes);
    expect_format_error(f.bytes, "tensor 'w': dim 0 is negative (-4)");
  }
  {
    OneTensorFile f;
    poke<int64_t>(f.bytes, f.dim_at(), 5);
    reseal(f.bytes);
    expect_format_error(f.bytes, "tensor 'w': length is 16 bytes, shape × f32 needs 20");
  }
  {
    OneTensorFile f;
    poke<int64_t>(f.bytes, f.dim_at(), int64_t{1} << 62);
    reseal(f.bytes);
    expect_format_error(f.bytes, "tensor 'w': shape's byte size overflows 64 bits");
  }
  {
    OneTensorFile f;
    poke<uint64_t>(f.bytes, f.offset_at(), peek<uint64_t>(f.bytes, f.offset_at()) + 4);
    reseal(f.bytes);
    expect_format_error(f.bytes, "tensor 'w': offset");
  }
  {
    OneTensorFile f;
    poke<uint64_t>(f.bytes, f.offset_at(), 1ull << 63);
    reseal(f.bytes);
    expect_format_error(f.bytes, "is outside the data region");
  }
}

TEST(Tensors, OverlapAndDuplicatesAreRejected) {
  ModelFile file;
  const float values[4] = {1, 2, 3, 4};
  file.add_tensor(TensorRecord::from_floats("a", {4}, values));
  file.add_tensor(TensorRecord::from_floats("b", {4}, values));
  std::vector<std::byte> bytes = encode_model_file(file);
  // Entry of "a" at 64+17 is 41 bytes (name 5, dtype 4, rank 4, dim 8, offset 8,
  // length 8, crc 4); "b"'s offset field follows at the same relative place.
  const size_t a = 64 + 17, b = a + 41;
  std::vector<std::byte> overlapping = bytes;
  poke<uint64_t>(overlapping, b + 21, peek<uint64_t>(bytes, a + 21));
  reseal(overlapping);
  expect_format_error(overlapping, "tensor 'b': data overlaps tensor 'a'");
  std::vector<std::byte> duplicate = bytes;
  duplicate[b + 4] = std::byte{'a'};
  reseal(duplicate);
  expect_format_error(duplicate, "tensor 'a': appears twice");
}

}  // namespace
}  // namespace gc::serialize
