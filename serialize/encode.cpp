// ModelFile -> the bytes of a .gcm file (docs/FORMAT.md, "Layout").
#include <bit>
#include <cstring>
#include <set>
#include <stdexcept>

#include "serialize/crc32c.h"
#include "serialize/layout.h"
#include "serialize/model_io.h"
#include "serialize/utf8.h"

namespace gc::serialize {
namespace {

using namespace layout;

[[noreturn]] void reject(const std::string& message) {
  throw std::invalid_argument("write_model_file: " + message);
}

void check_name(const std::string& name, const std::string& what) {
  if (name.empty() || name.size() > kMaxNameBytes)
    reject(what + " name must be 1.." + std::to_string(kMaxNameBytes) + " bytes, got " +
           std::to_string(name.size()));
  if (!is_valid_utf8(name)) reject(what + " name is not valid UTF-8");
}

void check_section(const Section& section) {
  const std::string where = "section '" + section.name + "'";
  for (const auto& [key, value] : section.metadata) {
    check_name(key, where + ": metadata");
    const std::string field = where + ": metadata '" + key + "'";
    auto check_text = [&field](const std::string& text) {
      if (text.size() > UINT32_MAX) reject(field + " holds a string longer than 4 GiB");
      if (!is_valid_utf8(text)) reject(field + " holds a string that is not valid UTF-8");
    };
    if (const auto* text = std::get_if<std::string>(&value)) check_text(*text);
    if (const auto* texts = std::get_if<std::vector<std::string>>(&value))
      for (const std::string& text : *texts) check_text(text);
    std::visit(
        [&field](const auto& v) {
          if constexpr (requires { v.size(); })
            if (v.size() > UINT32_MAX) reject(field + " holds more than 2^32 - 1 elements");
        },
        value);
  }
  std::set<std::string_view> names;
  for (const TensorRecord& record : section.tensors) {
    const std::string tensor = where + ": tensor '" + record.name + "'";
    check_name(record.name, where + ": tensor");
    if (!names.insert(record.name).second) reject(tensor + " appears twice");
    if (dtype_size(record.dtype) == 0) reject(tensor + ": dtype " + dtype_name(record.dtype) + " cannot be written");
    if (record.shape.size() > kMaxRank)
      reject(tensor + ": rank " + std::to_string(record.shape.size()) + " exceeds " + std::to_string(kMaxRank));
    int64_t count;
    try {
      count = record.element_count();
    } catch (const FormatError& e) {
      reject(e.what());
    }
    const uint64_t expected = static_cast<uint64_t>(count) * dtype_size(record.dtype);
    if (record.data.size() != expected)
      reject(tensor + ": data has " + std::to_string(record.data.size()) + " bytes, shape × " +
             dtype_name(record.dtype) + " needs " + std::to_string(expected));
  }
}

class ByteSink {
 public:
  explicit ByteSink(std::vector<std::byte>& out) : out_(out) {}
  template <typename T>
  void put(T value) {  // little-endian host, checked by the caller
    const size_t at = out_.size();
    out_.resize(at + sizeof(T));
    std::memcpy(out_.data() + at, &value, sizeof(T));
  }
  void put_string(const std::string& text) {
    put(static_cast<uint32_t>(text.size()));
    const auto* bytes = reinterpret_cast<const std::byte*>(text.data());
    out_.insert(out_.end(), bytes, bytes + text.size());
  }

 private:
  std::vector<std::byte>& out_;
};

void put_value(ByteSink& sink, const MetaValue& value) {
  sink.put(static_cast<uint32_t>(value.index()));
  std::visit(
      [&](const auto& v) {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, int64_t> || std::is_same_v<V, double>) {
          sink.put(v);
        } else if constexpr (std::is_same_v<V, std::string>) {
          sink.put_string(v);
        } else {
          sink.put(static_cast<uint32_t>(v.size()));
          for (const auto& element : v) {
            if constexpr (std::is_same_v<std::decay_t<decltype(element)>, std::string>)
              sink.put_string(element);
            else
              sink.put(element);
          }
        }
      },
      value);
}

// Appends the tables of one section; returns where each tensor's offset field
// sits so the data offsets can be filled in once the tables' size is known.
std::vector<size_t> put_section(std::vector<std::byte>& out, const Section& section, const std::string& name) {
  ByteSink sink(out);
  sink.put_string(name);
  sink.put(static_cast<uint32_t>(section.metadata.size()));
  sink.put(static_cast<uint32_t>(section.tensors.size()));
  for (const auto& [key, value] : section.metadata) {
    sink.put_string(key);
    put_value(sink, value);
  }
  std::vector<size_t> offset_fields;
  for (const TensorRecord& record : section.tensors) {
    sink.put_string(record.name);
    sink.put(static_cast<uint32_t>(record.dtype));
    sink.put(static_cast<uint32_t>(record.shape.size()));
    for (int64_t dim : record.shape) sink.put(dim);
    offset_fields.push_back(out.size());
    sink.put(uint64_t{0});  // offset, patched later
    sink.put(static_cast<uint64_t>(record.data.size()));
    sink.put(crc32c(record.data));
  }
  return offset_fields;
}

template <typename T>
void patch(std::vector<std::byte>& out, size_t at, T value) {
  std::memcpy(out.data() + at, &value, sizeof(T));
}

}  // namespace

FormatVersion current_format_version() { return {kMajor, kMinor}; }

FormatVersion format_version_of(const ModelFile& file) {
  auto uses_1_1 = [](const Section& section) {
    for (const TensorRecord& record : section.tensors)
      if (record.dtype == DType::I8 || record.dtype == DType::U8) return true;
    return false;
  };
  bool newer = uses_1_1(file);
  for (const Section& section : file.sections) newer = newer || uses_1_1(section);
  return {kMajor, static_cast<uint16_t>(newer ? 1 : 0)};
}

std::vector<std::byte> encode_model_file(const ModelFile& file) {
  if constexpr (std::endian::native != std::endian::little)
    throw std::runtime_error("write_model_file: this host is big-endian; gradcore writes little-endian files only");
  if (file.name != kModelSectionName)
    reject("the model section must be named 'model', got '" + file.name + "'");
  check_section(file);
  std::set<std::string_view> section_names{kModelSectionName};
  for (const Section& section : file.sections) {
    check_name(section.name, "section");
    if (!section_names.insert(section.name).second) reject("section '" + section.name + "' appears twice");
    check_section(section);
  }
  if (file.sections.size() + 1 > UINT32_MAX) reject("too many sections");

  std::vector<std::byte> out(kHeaderSize);
  std::vector<const TensorRecord*> records;
  std::vector<size_t> offset_fields;
  auto add = [&](const Section& section, const std::string& name) {
    for (size_t field : put_section(out, section, name)) offset_fields.push_back(field);
    for (const TensorRecord& record : section.tensors) records.push_back(&record);
  };
  add(file, std::string(kModelSectionName));
  for (const Section& section : file.sections) add(section, section.name);
  const uint64_t tables_size = out.size() - kHeaderSize;

  // Data region: each tensor at the next multiple of 64, zero padding between.
  const uint64_t data_offset = align_up(out.size());
  uint64_t cursor = data_offset;
  for (size_t i = 0; i < records.size(); ++i) {
    patch(out, offset_fields[i], cursor);
    cursor = align_up(cursor + records[i]->data.size());
  }
  const uint64_t data_size = cursor - data_offset;
  const uint64_t file_size = cursor + kTrailerSize;
  out.resize(file_size);  // zero-fills padding and the trailer
  for (size_t i = 0; i < records.size(); ++i) {
    uint64_t at;
    std::memcpy(&at, out.data() + offset_fields[i], sizeof at);
    if (!records[i]->data.empty()) std::memcpy(out.data() + at, records[i]->data.data(), records[i]->data.size());
  }

  std::memcpy(out.data(), kMagic.data(), kMagic.size());
  patch(out, kOffMajor, kMajor);
  patch(out, kOffMinor, format_version_of(file).minor);
  patch(out, kOffByteOrder, kByteOrderMarker);
  patch(out, kOffHeaderSize, kHeaderSize);
  patch(out, kOffSectionCount, static_cast<uint32_t>(file.sections.size() + 1));
  patch(out, kOffTablesOffset, uint64_t{kHeaderSize});
  patch(out, kOffTablesSize, tables_size);
  patch(out, kOffDataOffset, data_offset);
  patch(out, kOffDataSize, data_size);
  patch(out, kOffFileSize, file_size);

  const size_t trailer = file_size - kTrailerSize;
  std::memcpy(out.data() + trailer, kEndMagic.data(), kEndMagic.size());
  patch(out, trailer + kOffTrailerReserved, uint32_t{0});
  patch(out, trailer + kOffTrailerCrc, crc32c(std::span(out).first(trailer + kOffTrailerCrc)));
  return out;
}

}  // namespace gc::serialize
