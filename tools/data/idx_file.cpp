// Reading IDX files from disk, plain or gzip-compressed, through zlib's gz*
// interface (which passes plain files through unchanged).
#include "tools/data/idx.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>

namespace gc::data {
namespace {

struct GzCloser {
  void operator()(gzFile f) const { gzclose(f); }
};
using GzHandle = std::unique_ptr<gzFile_s, GzCloser>;

GzHandle open_for_reading(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw std::runtime_error(path + ": no such file");
  if (!std::filesystem::is_regular_file(path, ec))
    throw std::runtime_error(path + ": not a regular file");
  errno = 0;
  GzHandle file(gzopen(path.c_str(), "rb"));
  if (!file)
    throw std::runtime_error(path + ": cannot open: " +
                             (errno ? std::strerror(errno) : "out of memory"));
  return file;
}

// Throws when the last gzread ended in an error (corrupt or truncated stream).
void check_gz_status(gzFile file, const std::string& path) {
  int errnum = Z_OK;
  const char* message = gzerror(file, &errnum);
  if (errnum == Z_ERRNO)
    throw std::runtime_error(path + ": read error: " + std::strerror(errno));
  if (errnum != Z_OK)
    throw std::runtime_error(path + ": corrupt or truncated gzip data (" + message + ")");
}

// Decompressed files are reported as "PATH (gunzipped)" so a size error is
// not mistaken for one about the compressed size.
std::string source_name(const std::string& path, bool was_gzipped) {
  return was_gzipped ? path + " (gunzipped)" : path;
}

}  // namespace

FileBytes read_maybe_gzipped_file(const std::string& path, int64_t max_bytes) {
  GzHandle file = open_for_reading(path);
  constexpr unsigned kChunk = 1u << 20;
  FileBytes result;
  std::vector<uint8_t>& bytes = result.bytes;
  for (;;) {
    const size_t used = bytes.size();
    bytes.resize(used + kChunk);
    const int got = gzread(file.get(), bytes.data() + used, kChunk);
    if (got < 0) check_gz_status(file.get(), path);
    bytes.resize(used + static_cast<size_t>(got > 0 ? got : 0));
    result.was_gzipped = gzdirect(file.get()) == 0;
    if (static_cast<int64_t>(bytes.size()) > max_bytes)
      throw std::runtime_error(path + ": holds more than the " + std::to_string(max_bytes) +
                               "-byte limit" + (result.was_gzipped ? " once gunzipped" : ""));
    if (got <= 0) break;
  }
  check_gz_status(file.get(), path);
  return result;
}

IdxImages read_idx_images(const std::string& path) {
  const FileBytes file = read_maybe_gzipped_file(path, kMaxIdxBytes);
  return parse_idx_images(file.bytes, source_name(path, file.was_gzipped));
}

IdxLabels read_idx_labels(const std::string& path) {
  const FileBytes file = read_maybe_gzipped_file(path, kMaxIdxBytes);
  return parse_idx_labels(file.bytes, source_name(path, file.was_gzipped));
}

bool has_idx_images_magic(const std::string& path) {
  GzHandle file = open_for_reading(path);
  uint8_t magic[4];
  if (gzread(file.get(), magic, sizeof magic) != static_cast<int>(sizeof magic)) return false;
  const uint32_t found = (uint32_t{magic[0]} << 24) | (uint32_t{magic[1]} << 16) |
                         (uint32_t{magic[2]} << 8) | uint32_t{magic[3]};
  return found == kIdxImagesMagic;
}

}  // namespace gc::data
