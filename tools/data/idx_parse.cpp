// Parsing IDX bytes in memory. Kept apart from file reading (and zlib) so the
// fuzz target can link this file alone.
#include "tools/data/idx.h"

#include <stdexcept>

namespace gc::data {
namespace {

constexpr int64_t kMaxDimension = int64_t{1} << 28;

uint32_t read_be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

std::string hex32(uint32_t v) {
  static const char* digits = "0123456789abcdef";
  std::string s = "0x";
  for (int shift = 28; shift >= 0; shift -= 4) s += digits[(v >> shift) & 0xf];
  return s;
}

const char* magic_meaning(uint32_t magic) {
  switch (magic) {
    case kIdxImagesMagic: return " (IDX images)";
    case kIdxLabelsMagic: return " (IDX labels)";
    default: return "";
  }
}

std::string join_dims(const std::vector<int64_t>& dims) {
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "×" : "") + std::to_string(dims[i]);
  return s;
}

struct Parsed {
  std::vector<int64_t> dims;
  std::span<const uint8_t> payload;
};

// Validates the header for `magic` (whose low byte is the dimension count)
// and the exact total size; `what` names the contents ("images", "labels").
Parsed parse_idx(std::span<const uint8_t> bytes, const std::string& source, uint32_t magic,
                 const char* what) {
  const int64_t ndims = magic & 0xff;
  const int64_t header_bytes = 4 + 4 * ndims;
  if (bytes.size() < 4)
    throw std::runtime_error(source + ": " + std::to_string(bytes.size()) +
                             " bytes is too short for an IDX file (expected a " +
                             std::to_string(header_bytes) + "-byte header)");
  const uint32_t found = read_be32(bytes.data());
  if (found != magic)
    throw std::runtime_error(source + ": not an IDX " + what + " file: expected magic " +
                             hex32(magic) + ", found " + hex32(found) + magic_meaning(found));
  if (static_cast<int64_t>(bytes.size()) < header_bytes)
    throw std::runtime_error(source + ": truncated IDX header: expected " +
                             std::to_string(header_bytes) + " bytes, found " +
                             std::to_string(bytes.size()));

  Parsed parsed;
  int64_t payload_bytes = 1;
  for (int64_t d = 0; d < ndims; ++d) {
    const int64_t dim = read_be32(bytes.data() + 4 + 4 * d);
    if (dim == 0)
      throw std::runtime_error(source + ": dimension " + std::to_string(d) +
                               " is 0; every IDX dimension must be positive");
    if (dim > kMaxDimension)
      throw std::runtime_error(source + ": dimension " + std::to_string(d) + " is " +
                               std::to_string(dim) + ", above the limit of " +
                               std::to_string(kMaxDimension));
    parsed.dims.push_back(dim);
    // Each factor is at most 2^28 and the running product at most 2^30, so
    // the multiplication cannot overflow before this check.
    payload_bytes *= dim;
    if (payload_bytes > kMaxIdxBytes - header_bytes)
      throw std::runtime_error(source + ": " + join_dims(parsed.dims) + " " + what +
                               " would need more than the " + std::to_string(kMaxIdxBytes) +
                               "-byte limit for IDX files");
  }
  const int64_t expected = header_bytes + payload_bytes;
  if (static_cast<int64_t>(bytes.size()) != expected)
    throw std::runtime_error(source + ": expected " + std::to_string(expected) + " bytes for " +
                             join_dims(parsed.dims) + " " + what + ", found " +
                             std::to_string(bytes.size()));
  parsed.payload = bytes.subspan(static_cast<size_t>(header_bytes));
  return parsed;
}

}  // namespace

IdxImages parse_idx_images(std::span<const uint8_t> bytes, const std::string& source) {
  const Parsed parsed = parse_idx(bytes, source, kIdxImagesMagic, "images");
  IdxImages images;
  images.count = parsed.dims[0];
  images.rows = parsed.dims[1];
  images.cols = parsed.dims[2];
  images.pixels.assign(parsed.payload.begin(), parsed.payload.end());
  return images;
}

IdxLabels parse_idx_labels(std::span<const uint8_t> bytes, const std::string& source) {
  const Parsed parsed = parse_idx(bytes, source, kIdxLabelsMagic, "labels");
  return IdxLabels{std::vector<uint8_t>(parsed.payload.begin(), parsed.payload.end())};
}

}  // namespace gc::data
