#include "serialize/decode.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>

#include "serialize/crc32c.h"
#include "serialize/layout.h"
#include "serialize/utf8.h"

namespace gc::serialize {

using namespace layout;

void throw_format_error(std::string_view source, const std::string& message) {
  throw FormatError(std::string(source) + ": " + message);
}

uint32_t compute_file_crc(std::span<const std::byte> bytes) {
  return crc32c(bytes.first(bytes.size() - kTrailerSize + kOffTrailerCrc));
}

namespace {

template <typename T>
T load(std::span<const std::byte> bytes, size_t at) {
  T value;
  std::memcpy(&value, bytes.data() + at, sizeof(T));
  return value;
}

std::string hex_bytes(std::span<const std::byte> bytes) {
  std::string text;
  char buffer[4];
  for (std::byte b : bytes) {
    std::snprintf(buffer, sizeof buffer, "%s%02X", text.empty() ? "" : " ", static_cast<unsigned>(b));
    text += buffer;
  }
  return text;
}

std::string in_quotes(const std::string& name) { return "'" + name + "'"; }

// Reads the tables region front to back. Every read is checked against the
// bytes left; every count against what the remaining bytes could possibly
// hold, before anything is allocated for it.
class TableReader {
 public:
  TableReader(std::span<const std::byte> tables, uint64_t file_offset, std::string_view source)
      : tables_(tables), file_offset_(file_offset), source_(source) {}

  uint64_t remaining() const { return tables_.size() - position_; }

  [[noreturn]] void fail(const std::string& field, const std::string& problem) const {
    throw_format_error(source_, field + ": " + problem);
  }

  template <typename T>
  T read(const std::string& field) {
    need(field, sizeof(T));
    T value = load<T>(tables_, position_);
    position_ += sizeof(T);
    return value;
  }

  // A count of elements that each take at least `min_element_bytes`.
  uint32_t read_count(const std::string& field, uint64_t min_element_bytes) {
    const auto count = read<uint32_t>(field);
    if (count > remaining() / min_element_bytes)
      fail(field, "count " + std::to_string(count) + " cannot fit in the " + std::to_string(remaining()) +
                      " bytes left in the tables (each needs at least " + std::to_string(min_element_bytes) + ")");
    return count;
  }

  std::string read_text(const std::string& field) {
    const auto length = read<uint32_t>(field + " length");
    need(field, length);
    std::string text(reinterpret_cast<const char*>(tables_.data() + position_), length);
    position_ += length;
    if (!is_valid_utf8(text)) fail(field, "is not valid UTF-8");
    return text;
  }

  std::string read_name(const std::string& field) {
    std::string name = read_text(field);
    if (name.empty() || name.size() > kMaxNameBytes)
      fail(field, "length " + std::to_string(name.size()) + ", expected 1.." + std::to_string(kMaxNameBytes));
    return name;
  }

 private:
  void need(const std::string& field, uint64_t bytes) const {
    if (bytes > remaining())
      fail(field, "needs " + std::to_string(bytes) + " bytes at offset " +
                      std::to_string(file_offset_ + position_) + ", only " + std::to_string(remaining()) +
                      " left in the tables");
  }

  std::span<const std::byte> tables_;
  uint64_t file_offset_;
  std::string_view source_;
  uint64_t position_ = 0;
};

template <typename T>
std::vector<T> read_array(TableReader& reader, const std::string& field) {
  const uint32_t count = reader.read_count(field + " count", std::is_same_v<T, std::string> ? kMinStringBytes : sizeof(T));
  std::vector<T> values;
  values.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    const std::string element = field + "[" + std::to_string(i) + "]";
    if constexpr (std::is_same_v<T, std::string>)
      values.push_back(reader.read_text(element));
    else
      values.push_back(reader.read<T>(element));
  }
  return values;
}

MetaValue read_value(TableReader& reader, const std::string& field) {
  const auto type = reader.read<uint32_t>(field + " type");
  switch (static_cast<MetaType>(type)) {
    case MetaType::Int: return reader.read<int64_t>(field);
    case MetaType::Float: return reader.read<double>(field);
    case MetaType::String: return reader.read_text(field);
    case MetaType::IntArray: return read_array<int64_t>(reader, field);
    case MetaType::FloatArray: return read_array<double>(reader, field);
    case MetaType::StringArray: return read_array<std::string>(reader, field);
  }
  reader.fail(field, "unknown value type code " + std::to_string(type) + " (this reader knows 0.." +
                         std::to_string(kMetaTypeCount - 1) + ")");
}

struct DataRegion {
  uint64_t begin;
  uint64_t end;
};

TensorEntry read_tensor(TableReader& reader, const std::string& section, uint32_t index, DataRegion data) {
  TensorEntry entry;
  entry.name = reader.read_name("section " + in_quotes(section) + ": tensor " + std::to_string(index) + " name");
  const std::string where = "section " + in_quotes(section) + ": tensor " + in_quotes(entry.name);

  const auto code = reader.read<uint32_t>(where + ": dtype");
  entry.dtype = static_cast<DType>(code);
  const size_t element_size = dtype_size(entry.dtype);
  if (element_size == 0) {
    if (entry.dtype == DType::I8Q)
      reader.fail(where, "dtype i8q (code 3) is reserved; this reader (" + std::to_string(kMajor) + ".x) cannot read it");
    reader.fail(where, "unknown dtype code " + std::to_string(code) + " (this reader knows the dtypes of format " +
                           std::to_string(kMajor) + "." + std::to_string(kMinor) + "; a newer minor may define it)");
  }

  const auto rank = reader.read<uint32_t>(where + ": rank");
  if (rank > kMaxRank) reader.fail(where, "rank " + std::to_string(rank) + " exceeds " + std::to_string(kMaxRank));
  uint64_t elements = 1;
  bool overflow = false;
  for (uint32_t d = 0; d < rank; ++d) {
    const auto dim = reader.read<int64_t>(where + ": dim " + std::to_string(d));
    if (dim < 0) reader.fail(where, "dim " + std::to_string(d) + " is negative (" + std::to_string(dim) + ")");
    entry.shape.push_back(dim);
    overflow = overflow || __builtin_mul_overflow(elements, static_cast<uint64_t>(dim), &elements);
  }
  entry.offset = reader.read<uint64_t>(where + ": offset");
  entry.length = reader.read<uint64_t>(where + ": length");
  entry.stored_crc = reader.read<uint32_t>(where + ": crc32c");

  uint64_t expected_length = 0;
  if (overflow || __builtin_mul_overflow(elements, element_size, &expected_length))
    reader.fail(where, "shape's byte size overflows 64 bits");
  if (entry.length != expected_length)
    reader.fail(where, "length is " + std::to_string(entry.length) + " bytes, shape × " + dtype_name(entry.dtype) +
                           " needs " + std::to_string(expected_length));
  if (entry.offset % kAlignment != 0)
    reader.fail(where, "offset " + std::to_string(entry.offset) + " is not a multiple of " + std::to_string(kAlignment));
  if (entry.offset < data.begin || entry.offset > data.end || entry.length > data.end - entry.offset)
    reader.fail(where, "data [" + std::to_string(entry.offset) + ", +" + std::to_string(entry.length) +
                           ") is outside the data region [" + std::to_string(data.begin) + ", " +
                           std::to_string(data.end) + ")");
  return entry;
}

SectionEntry read_section(TableReader& reader, uint32_t index, DataRegion data) {
  SectionEntry section;
  section.name = reader.read_name("section " + std::to_string(index) + " name");
  const std::string where = "section " + in_quotes(section.name);
  const uint32_t metadata_count = reader.read_count(where + ": metadata count", kMinMetadataEntryBytes);
  const uint32_t tensor_count = reader.read_count(where + ": tensor count", kMinTensorEntryBytes);
  for (uint32_t i = 0; i < metadata_count; ++i) {
    std::string key = reader.read_name(where + ": metadata entry " + std::to_string(i) + " key");
    const std::string field = where + ": metadata " + in_quotes(key);
    MetaValue value = read_value(reader, field);
    if (!section.metadata.emplace(std::move(key), std::move(value)).second) reader.fail(field, "appears twice");
  }
  section.tensors.reserve(tensor_count);
  for (uint32_t i = 0; i < tensor_count; ++i) {
    TensorEntry entry = read_tensor(reader, section.name, i, data);
    for (const TensorEntry& earlier : section.tensors)
      if (earlier.name == entry.name) reader.fail(where + ": tensor " + in_quotes(entry.name), "appears twice");
    section.tensors.push_back(std::move(entry));
  }
  return section;
}

void check_no_overlap(const std::vector<SectionEntry>& sections, std::string_view source) {
  struct Range {
    uint64_t begin, end;
    const std::string* section;
    const std::string* tensor;
  };
  std::vector<Range> ranges;
  for (const SectionEntry& section : sections)
    for (const TensorEntry& entry : section.tensors)
      if (entry.length > 0) ranges.push_back({entry.offset, entry.offset + entry.length, &section.name, &entry.name});
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) { return a.begin < b.begin; });
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].begin < ranges[i - 1].end)
      throw_format_error(source, "section " + in_quotes(*ranges[i].section) + ": tensor " + in_quotes(*ranges[i].tensor) +
                                     ": data overlaps tensor " + in_quotes(*ranges[i - 1].tensor) + " of section " +
                                     in_quotes(*ranges[i - 1].section));
}

// Rules 1-3: header, trailer, regions. Returns the summary.
FileSummary check_frame(std::span<const std::byte> bytes, std::string_view source, uint32_t& section_count) {
  auto fail = [&](const std::string& message) { throw_format_error(source, message); };
  const uint64_t size = bytes.size();
  if (size < kHeaderSize + kTrailerSize)
    fail("file is " + std::to_string(size) + " bytes; a model file has at least " +
         std::to_string(kHeaderSize + kTrailerSize) + " (header and trailer)");
  if (std::memcmp(bytes.data(), kMagic.data(), kMagic.size()) != 0)
    fail("header: magic is " + hex_bytes(bytes.first(8)) + ", expected " +
         hex_bytes(std::as_bytes(std::span(kMagic))) + " (not a gradcore model file)");
  if constexpr (std::endian::native != std::endian::little)
    fail("this host is big-endian; this reader handles little-endian hosts only");
  const auto marker = load<uint32_t>(bytes, kOffByteOrder);
  if (marker == kByteOrderMarkerSwapped)
    fail("header: the file is big-endian (byte-order bytes 01 02 03 04); this reader reads little-endian files");
  if (marker != kByteOrderMarker)
    fail("header: byte-order marker is " + hex_bytes(bytes.subspan(kOffByteOrder, 4)) + ", expected 04 03 02 01");

  FileSummary summary;
  summary.version = {load<uint16_t>(bytes, kOffMajor), load<uint16_t>(bytes, kOffMinor)};
  const std::string version =
      std::to_string(summary.version.major) + "." + std::to_string(summary.version.minor);
  if (summary.version.major > kMajor)
    fail("header: version " + version + " is newer than this reader (" + std::to_string(kMajor) + ".x)");
  if (summary.version.major < kMajor)
    fail("header: version " + version + " is unknown (this reader reads " + std::to_string(kMajor) + ".x)");

  summary.header_size = load<uint32_t>(bytes, kOffHeaderSize);
  if (summary.header_size < kHeaderSize || summary.header_size > size - kTrailerSize)
    fail("header: header_size is " + std::to_string(summary.header_size) + ", expected " +
         std::to_string(kHeaderSize) + ".." + std::to_string(size - kTrailerSize));
  summary.file_size = load<uint64_t>(bytes, kOffFileSize);
  if (summary.file_size != size)
    fail("header: file_size is " + std::to_string(summary.file_size) + " bytes, but the file has " +
         std::to_string(size) + (summary.file_size > size ? " (truncated)" : " (extra bytes)"));
  const size_t trailer = size - kTrailerSize;
  if (std::memcmp(bytes.data() + trailer, kEndMagic.data(), kEndMagic.size()) != 0)
    fail("trailer: end magic is " + hex_bytes(bytes.subspan(trailer, 8)) + ", expected " +
         hex_bytes(std::as_bytes(std::span(kEndMagic))));

  const auto tables_offset = load<uint64_t>(bytes, kOffTablesOffset);
  summary.tables_size = load<uint64_t>(bytes, kOffTablesSize);
  summary.data_offset = load<uint64_t>(bytes, kOffDataOffset);
  summary.data_size = load<uint64_t>(bytes, kOffDataSize);
  if (tables_offset != summary.header_size)
    fail("header: tables_offset is " + std::to_string(tables_offset) + ", expected header_size " +
         std::to_string(summary.header_size));
  if (summary.data_offset % kAlignment != 0 || summary.data_offset > trailer)
    fail("header: data_offset " + std::to_string(summary.data_offset) + " must be a multiple of " +
         std::to_string(kAlignment) + " and at most " + std::to_string(trailer));
  if (tables_offset > summary.data_offset || summary.tables_size > summary.data_offset - tables_offset)
    fail("header: tables [" + std::to_string(tables_offset) + ", +" + std::to_string(summary.tables_size) +
         ") run past data_offset " + std::to_string(summary.data_offset));
  if (summary.data_size != trailer - summary.data_offset)
    fail("header: data_size is " + std::to_string(summary.data_size) + ", expected " +
         std::to_string(trailer - summary.data_offset) + " (from data_offset to the trailer)");
  section_count = load<uint32_t>(bytes, kOffSectionCount);
  if (section_count == 0 || section_count > summary.tables_size / kMinSectionBytes)
    fail("header: section_count " + std::to_string(section_count) + " is not between 1 and " +
         std::to_string(summary.tables_size / kMinSectionBytes) + " (what the tables can hold)");
  return summary;
}

}  // namespace

DecodedFile decode_structure(std::span<const std::byte> bytes, std::string_view source) {
  DecodedFile decoded;
  uint32_t section_count = 0;
  decoded.summary = check_frame(bytes, source, section_count);
  const FileSummary& summary = decoded.summary;
  decoded.stored_file_crc = load<uint32_t>(bytes, bytes.size() - kTrailerSize + kOffTrailerCrc);

  TableReader reader(bytes.subspan(summary.header_size, summary.tables_size), summary.header_size, source);
  const DataRegion data{summary.data_offset, summary.data_offset + summary.data_size};
  decoded.sections.reserve(section_count);
  for (uint32_t i = 0; i < section_count; ++i) {
    SectionEntry section = read_section(reader, i, data);
    if (i == 0 && section.name != kModelSectionName)
      reader.fail("section 0", "is named " + in_quotes(section.name) + ", expected 'model'");
    for (const SectionEntry& earlier : decoded.sections)
      if (earlier.name == section.name) reader.fail("section " + in_quotes(section.name), "appears twice");
    decoded.sections.push_back(std::move(section));
  }
  if (reader.remaining() != 0)
    reader.fail("tables", std::to_string(reader.remaining()) + " bytes left over after the last section");
  check_no_overlap(decoded.sections, source);
  return decoded;
}

}  // namespace gc::serialize
