// Writing and reading gradcore model files (docs/FORMAT.md).
//
//   write_model_file(path, file)   atomic: temp file in the same directory,
//                                  fsync, rename, fsync the directory
//   read_model_file(path)          copying loader: a ModelFile owning its data
//   map_model_file(path)           mmap loader: tensors are views into the
//                                  mapping, 64-byte aligned
//   verify_model_file(path)        every tensor's checksum, for inspect
//
// Readers check every rule of the format before trusting a byte and throw
// FormatError naming the file, the field, and expected vs found.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "serialize/model_file.h"

namespace gc::serialize {

struct FormatVersion {
  uint16_t major = 0;
  uint16_t minor = 0;
};
// The newest version this code writes. It reads every minor of this major.
FormatVersion current_format_version();
// The version `file` is written as: the oldest that holds everything in it
// (1.1 when a tensor is i8 or u8, else 1.0, so 1.0 readers keep reading
// every float model).
FormatVersion format_version_of(const ModelFile& file);

// ---- writing ----------------------------------------------------------------

// The file's bytes. Throws std::invalid_argument naming the offending tensor,
// key or section when `file` cannot be written (bad name, data size not
// matching shape × dtype, duplicate names, reserved dtype).
std::vector<std::byte> encode_model_file(const ModelFile& file);

void write_model_file(const std::filesystem::path& path, const ModelFile& file);

// ---- copying reader ---------------------------------------------------------

// `source_name` names the bytes in error messages (usually the path).
ModelFile parse_model_bytes(std::span<const std::byte> bytes, std::string_view source_name);
// A regular file's bytes; throws naming the path.
std::vector<std::byte> read_file_bytes(const std::filesystem::path& path);
ModelFile read_model_file(const std::filesystem::path& path);

// ---- mmap reader ------------------------------------------------------------

// A tensor whose data lives in the mapped file.
struct TensorView {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::span<const std::byte> data;  // 64-byte aligned

  int64_t element_count() const;
  std::span<const float> floats() const;  // throws FormatError unless f32
};

struct MappedSection : SectionMetadata {
  std::vector<TensorView> tensors;

  const TensorView* find_tensor(std::string_view tensor_name) const;
  const TensorView& tensor(std::string_view tensor_name) const;  // throws if absent
};

// The model section is this object's own; views stay valid while it (or a
// move of it) lives.
class MappedModelFile : public MappedSection {
 public:
  std::vector<MappedSection> sections;

  const MappedSection* find_section(std::string_view section_name) const;
  const MappedSection& section(std::string_view section_name) const;  // throws if absent
  int64_t parameter_count() const;
  size_t mapped_bytes() const { return mapped_size_; }

 private:
  friend MappedModelFile map_model_file(const std::filesystem::path& path);
  std::shared_ptr<const void> mapping_;
  size_t mapped_size_ = 0;
};

MappedModelFile map_model_file(const std::filesystem::path& path);

// ---- verifying reader (for `gradcore inspect`) ------------------------------

struct ChecksumCheck {
  std::string section;  // empty for the whole-file checksum
  std::string tensor;
  uint32_t stored = 0;
  uint32_t computed = 0;
  bool ok() const { return stored == computed; }
};

struct FileSummary {
  FormatVersion version;
  uint32_t header_size = 0;
  uint64_t file_size = 0;
  uint64_t tables_size = 0;
  uint64_t data_offset = 0;
  uint64_t data_size = 0;
};

struct Verification {
  FileSummary summary;
  ModelFile contents;
  std::vector<ChecksumCheck> tensor_checksums;  // every tensor, file order
  ChecksumCheck file_checksum;
  bool valid() const;
};

// Checks the structure (throwing FormatError on the first structural error),
// then computes every checksum without stopping at a mismatch.
Verification verify_model_bytes(std::span<const std::byte> bytes, std::string_view source_name);
Verification verify_model_file(const std::filesystem::path& path);

}  // namespace gc::serialize
