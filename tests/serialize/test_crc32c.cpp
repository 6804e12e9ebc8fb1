#include <gtest/gtest.h>

#include <random>
#include <string_view>
#include <vector>

#include "serialize/crc32c.h"

namespace gc::serialize {
namespace {

std::span<const std::byte> text_bytes(std::string_view text) { return std::as_bytes(std::span(text)); }

TEST(Crc32c, CheckValue) {
  EXPECT_EQ(crc32c(text_bytes("123456789")), 0xE3069283u);
  EXPECT_EQ(crc32c_portable(text_bytes("123456789")), 0xE3069283u);
  EXPECT_EQ(crc32c({}), 0u);
}

// RFC 3720 (iSCSI) B.4 test vectors: 32 zero bytes and 32 bytes of 0xFF.
TEST(Crc32c, IscsiVectors) {
  std::vector<std::byte> zeros(32, std::byte{0}), ones(32, std::byte{0xFF});
  EXPECT_EQ(crc32c(zeros), 0x8A9136AAu);
  EXPECT_EQ(crc32c(ones), 0x62A8AB43u);
}

TEST(Crc32c, HardwareMatchesPortableOnEveryLengthAndAlignment) {
  if (!crc32c_hardware_available()) GTEST_SKIP() << "no SSE4.2 on this CPU";
  std::mt19937 rng(7);
  std::vector<std::byte> data(600);
  for (auto& b : data) b = std::byte(rng() & 0xFF);
  for (size_t start = 0; start < 9; ++start)
    for (size_t length = 0; start + length <= data.size(); length += 13) {
      auto piece = std::span(data).subspan(start, length);
      ASSERT_EQ(crc32c_hardware(piece), crc32c_portable(piece)) << "start " << start << " length " << length;
    }
}

TEST(Crc32c, PiecewiseEqualsWhole) {
  std::string_view text = "the quick brown fox jumps over the lazy dog";
  for (size_t split = 0; split <= text.size(); ++split) {
    auto bytes = text_bytes(text);
    EXPECT_EQ(crc32c(bytes.subspan(split), crc32c(bytes.first(split))), crc32c(bytes));
    EXPECT_EQ(crc32c_portable(bytes.subspan(split), crc32c_portable(bytes.first(split))), crc32c(bytes));
  }
}

}  // namespace
}  // namespace gc::serialize
