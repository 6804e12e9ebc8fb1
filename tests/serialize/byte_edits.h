// Helpers for tests that damage or hand-edit encoded model files.
#pragma once

#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "serialize/crc32c.h"
#include "serialize/model_io.h"

namespace gc::serialize::testing {

template <typename T>
void poke(std::vector<std::byte>& bytes, size_t at, T value) {
  std::memcpy(bytes.data() + at, &value, sizeof(T));
}

template <typename T>
T peek(const std::vector<std::byte>& bytes, size_t at) {
  T value;
  std::memcpy(&value, bytes.data() + at, sizeof(T));
  return value;
}

// Recomputes the trailer's whole-file CRC-32C after an edit, so the edit is
// caught by the rule it breaks rather than by the checksum.
inline void reseal(std::vector<std::byte>& bytes) {
  const size_t crc_at = bytes.size() - 4;
  poke(bytes, crc_at, crc32c(std::span(bytes).first(crc_at)));
}

// Expects parse_model_bytes to throw FormatError whose message contains
// `expected_fragment`.
inline void expect_format_error(const std::vector<std::byte>& bytes, const std::string& expected_fragment) {
  try {
    parse_model_bytes(bytes, "test.gcm");
    ADD_FAILURE() << "accepted a file that should fail with: " << expected_fragment;
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find(expected_fragment), std::string::npos)
        << "message: " << e.what() << "\nexpected to contain: " << expected_fragment;
  }
}

}  // namespace gc::serialize::testing
