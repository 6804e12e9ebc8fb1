// The structural half of reading a .gcm file: rules 1-6 of docs/FORMAT.md
// ("Reader rules"). Checksums are left to the callers (load.cpp), which
// either stop at the first mismatch or collect them all. Internal to serialize/.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "serialize/model_io.h"

namespace gc::serialize {

struct TensorEntry {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  uint64_t offset = 0;  // absolute, inside the data region, 64-byte aligned
  uint64_t length = 0;
  uint32_t stored_crc = 0;
};

struct SectionEntry : SectionMetadata {
  std::vector<TensorEntry> tensors;
};

struct DecodedFile {
  FileSummary summary;
  std::vector<SectionEntry> sections;  // sections[0] is the model
  uint32_t stored_file_crc = 0;
};

// Throws FormatError("<source>: <field>: <expected vs found>") on the first
// rule broken. Every offset and length in the result lies inside `bytes`.
DecodedFile decode_structure(std::span<const std::byte> bytes, std::string_view source);

// CRC-32C of everything the trailer's checksum covers.
uint32_t compute_file_crc(std::span<const std::byte> bytes);

[[noreturn]] void throw_format_error(std::string_view source, const std::string& message);

}  // namespace gc::serialize
