// On-disk constants of the model file format, version 1.1 (docs/FORMAT.md).
// Internal to serialize/: the encoder and the decoder share these.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <variant>

#include "serialize/model_file.h"

namespace gc::serialize::layout {

inline constexpr std::array<unsigned char, 8> kMagic = {0x89, 'G', 'C', 'M', 0x0D, 0x0A, 0x1A, 0x0A};
inline constexpr std::array<unsigned char, 8> kEndMagic = {'G', 'C', 'M', '-', 'E', 'N', 'D', 0};
inline constexpr uint16_t kMajor = 1;
inline constexpr uint16_t kMinor = 1;  // the newest minor this code writes
inline constexpr uint32_t kByteOrderMarker = 0x01020304;  // on disk: 04 03 02 01
inline constexpr uint32_t kByteOrderMarkerSwapped = 0x04030201;  // a big-endian writer's marker

inline constexpr uint32_t kHeaderSize = 64;  // in 1.0; later minors may grow it
inline constexpr uint64_t kTrailerSize = 16;
inline constexpr uint64_t kAlignment = 64;   // data region and every tensor's data
inline constexpr uint32_t kMaxRank = 8;
inline constexpr uint32_t kMaxNameBytes = 1024;  // section names, metadata keys, tensor names

// Header field offsets.
inline constexpr size_t kOffMajor = 8, kOffMinor = 10, kOffByteOrder = 12, kOffHeaderSize = 16,
                        kOffSectionCount = 20, kOffTablesOffset = 24, kOffTablesSize = 32,
                        kOffDataOffset = 40, kOffDataSize = 48, kOffFileSize = 56;
// Trailer field offsets, relative to the trailer's start.
inline constexpr size_t kOffTrailerReserved = 8, kOffTrailerCrc = 12;

// Metadata value types: the code is the MetaValue variant index.
enum class MetaType : uint32_t { Int = 0, Float = 1, String = 2, IntArray = 3, FloatArray = 4, StringArray = 5 };
inline constexpr uint32_t kMetaTypeCount = 6;
static_assert(std::variant_size_v<MetaValue> == kMetaTypeCount);

// Smallest encodings, used to bound counts before anything is allocated.
inline constexpr uint64_t kMinStringBytes = 4;                    // empty string
inline constexpr uint64_t kMinNameBytes = 4 + 1;                  // names are not empty
inline constexpr uint64_t kMinSectionBytes = kMinNameBytes + 4 + 4;
inline constexpr uint64_t kMinMetadataEntryBytes = kMinNameBytes + 4 + 4;
inline constexpr uint64_t kMinTensorEntryBytes = kMinNameBytes + 4 + 4 + 8 + 8 + 4;

constexpr uint64_t align_up(uint64_t value) { return (value + kAlignment - 1) / kAlignment * kAlignment; }

}  // namespace gc::serialize::layout
