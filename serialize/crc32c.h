// CRC-32C (Castagnoli): the checksum of every tensor and of the whole model
// file (docs/FORMAT.md). Check value: crc32c("123456789") == 0xE3069283.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace gc::serialize {

// CRC-32C of `bytes`. Uses the SSE4.2 crc32 instruction when the CPU has it,
// slicing-by-8 tables otherwise. To checksum data in pieces, pass the previous
// result as `crc` (start from 0).
uint32_t crc32c(std::span<const std::byte> bytes, uint32_t crc = 0);

// The two implementations, exposed so tests can check that they agree.
uint32_t crc32c_portable(std::span<const std::byte> bytes, uint32_t crc = 0);
bool crc32c_hardware_available();
uint32_t crc32c_hardware(std::span<const std::byte> bytes, uint32_t crc = 0);  // only if available

}  // namespace gc::serialize
