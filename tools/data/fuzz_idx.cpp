// libFuzzer target: arbitrary bytes through the IDX images and labels
// parsers. Rejecting input with std::runtime_error is the expected outcome;
// anything else (a crash, a sanitizer report, another exception type) is a bug.
// fuzz-sources: tools/data/idx_parse.cpp
#include "tools/data/idx.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  try {
    const gc::data::IdxImages images = gc::data::parse_idx_images(bytes, "fuzz");
    if (static_cast<int64_t>(images.pixels.size()) != images.count * images.rows * images.cols)
      __builtin_trap();
  } catch (const std::runtime_error&) {
  }
  try {
    const gc::data::IdxLabels labels = gc::data::parse_idx_labels(bytes, "fuzz");
    if (labels.labels.size() + 8 != size) __builtin_trap();
  } catch (const std::runtime_error&) {
  }
  return 0;
}
