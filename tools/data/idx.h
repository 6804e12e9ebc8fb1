// IDX files (the format MNIST and Fashion-MNIST ship in): a big-endian header
// — two zero bytes, a type byte (0x08 = unsigned byte), the number of
// dimensions, then each dimension as a 32-bit count — followed by the data.
//
//   images: magic 0x00000803, dims [count, rows, cols]
//   labels: magic 0x00000801, dims [count]
//
// Every reader checks the magic, each dimension (positive and bounded) and
// that the data is exactly as long as the dimensions say, and throws
// std::runtime_error naming the source and what was expected vs found.
// The file readers accept gzip-compressed files (detected by their magic
// bytes, not their name) with the same checks on the decompressed bytes.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace gc::data {

inline constexpr uint32_t kIdxImagesMagic = 0x00000803;
inline constexpr uint32_t kIdxLabelsMagic = 0x00000801;

// No IDX file we accept holds more than this many bytes (decompressed):
// MNIST's largest is 47 MB.
inline constexpr int64_t kMaxIdxBytes = int64_t{1} << 30;

struct IdxImages {
  int64_t count = 0;
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<uint8_t> pixels;  // [count, rows, cols], row-major
};

struct IdxLabels {
  std::vector<uint8_t> labels;  // [count]
};

// Parse IDX bytes already in memory; `source` names them in error messages.
IdxImages parse_idx_images(std::span<const uint8_t> bytes, const std::string& source);
IdxLabels parse_idx_labels(std::span<const uint8_t> bytes, const std::string& source);

struct FileBytes {
  std::vector<uint8_t> bytes;
  bool was_gzipped = false;
};

// Read a whole file, decompressing it when it starts with the gzip magic.
// Throws when it cannot be opened or read, when the gzip stream is corrupt or
// truncated, or when it holds more than max_bytes (after decompression).
FileBytes read_maybe_gzipped_file(const std::string& path, int64_t max_bytes);

IdxImages read_idx_images(const std::string& path);
IdxLabels read_idx_labels(const std::string& path);

// Whether the file (plain or gzipped) starts with the IDX images magic: tells
// an IDX images file from a picture. Throws only when it cannot be opened.
bool has_idx_images_magic(const std::string& path);

}  // namespace gc::data
