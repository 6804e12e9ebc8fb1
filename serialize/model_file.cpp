#include "serialize/model_file.h"

#include <cstring>

namespace gc::serialize {

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::F32: return 4;
    case DType::F16: return 2;
    case DType::BF16: return 2;
    case DType::I32: return 4;
    case DType::U64: return 8;
    case DType::I8:
    case DType::U8: return 1;
    case DType::I8Q: return 0;
  }
  return 0;
}

std::string dtype_name(DType dtype) {
  switch (dtype) {
    case DType::F32: return "f32";
    case DType::F16: return "f16";
    case DType::BF16: return "bf16";
    case DType::I8Q: return "i8q";
    case DType::I32: return "i32";
    case DType::U64: return "u64";
    case DType::I8: return "i8";
    case DType::U8: return "u8";
  }
  return "dtype(" + std::to_string(static_cast<uint32_t>(dtype)) + ")";
}

std::string_view meta_type_name(const MetaValue& value) {
  static constexpr std::string_view kNames[] = {"int",       "float",       "string",
                                                "int array", "float array", "string array"};
  return kNames[value.index()];
}

// ---- TensorRecord -----------------------------------------------------------

namespace {

template <typename T>
TensorRecord record_from(std::string name, std::vector<int64_t> shape, const T* values, DType dtype) {
  TensorRecord record{std::move(name), dtype, std::move(shape), {}};
  record.data.resize(static_cast<size_t>(record.element_count()) * sizeof(T));
  if (!record.data.empty()) std::memcpy(record.data.data(), values, record.data.size());
  return record;
}

template <typename T>
std::span<const T> typed_view(const TensorRecord& record, DType expected) {
  if (record.dtype != expected)
    throw FormatError("tensor '" + record.name + "': dtype is " + dtype_name(record.dtype) +
                      ", expected " + dtype_name(expected));
  // std::vector's storage comes from operator new, aligned for any scalar type.
  return {reinterpret_cast<const T*>(record.data.data()), record.data.size() / sizeof(T)};
}

}  // namespace

TensorRecord TensorRecord::from_floats(std::string name, std::vector<int64_t> shape, const float* values) {
  return record_from(std::move(name), std::move(shape), values, DType::F32);
}
TensorRecord TensorRecord::from_u64s(std::string name, std::vector<int64_t> shape, const uint64_t* values) {
  return record_from(std::move(name), std::move(shape), values, DType::U64);
}
TensorRecord TensorRecord::from_i32s(std::string name, std::vector<int64_t> shape, const int32_t* values) {
  return record_from(std::move(name), std::move(shape), values, DType::I32);
}
TensorRecord TensorRecord::from_i8s(std::string name, std::vector<int64_t> shape, const int8_t* values) {
  return record_from(std::move(name), std::move(shape), values, DType::I8);
}

int64_t TensorRecord::element_count() const {
  int64_t count = 1;
  for (int64_t dim : shape) {
    if (dim < 0) throw FormatError("tensor '" + name + "': negative dimension " + std::to_string(dim));
    if (dim != 0 && count > INT64_MAX / dim) throw FormatError("tensor '" + name + "': element count overflows");
    count *= dim;
  }
  return count;
}

std::span<const float> TensorRecord::floats() const { return typed_view<float>(*this, DType::F32); }
std::span<const uint64_t> TensorRecord::u64s() const { return typed_view<uint64_t>(*this, DType::U64); }
std::span<const int32_t> TensorRecord::i32s() const { return typed_view<int32_t>(*this, DType::I32); }
std::span<const int8_t> TensorRecord::i8s() const { return typed_view<int8_t>(*this, DType::I8); }

// ---- Section ---------------------------------------------------------------

namespace {

template <typename T>
const T& get_typed(const SectionMetadata& section, const std::string& key, std::string_view expected) {
  auto it = section.metadata.find(key);
  if (it == section.metadata.end())
    throw FormatError("section '" + section.name + "': metadata '" + key + "' is missing");
  if (const T* value = std::get_if<T>(&it->second)) return *value;
  throw FormatError("section '" + section.name + "': metadata '" + key + "' is " +
                    std::string(meta_type_name(it->second)) + ", expected " + std::string(expected));
}

}  // namespace

int64_t SectionMetadata::get_int(const std::string& key) const { return get_typed<int64_t>(*this, key, "int"); }

double SectionMetadata::get_float(const std::string& key) const {
  auto it = metadata.find(key);
  if (it != metadata.end())
    if (const int64_t* value = std::get_if<int64_t>(&it->second)) return static_cast<double>(*value);
  return get_typed<double>(*this, key, "float");
}

const std::string& SectionMetadata::get_string(const std::string& key) const {
  return get_typed<std::string>(*this, key, "string");
}
const std::vector<int64_t>& SectionMetadata::get_ints(const std::string& key) const {
  return get_typed<std::vector<int64_t>>(*this, key, "int array");
}
const std::vector<double>& SectionMetadata::get_floats(const std::string& key) const {
  return get_typed<std::vector<double>>(*this, key, "float array");
}
const std::vector<std::string>& SectionMetadata::get_strings(const std::string& key) const {
  return get_typed<std::vector<std::string>>(*this, key, "string array");
}

const TensorRecord* Section::find_tensor(std::string_view tensor_name) const {
  for (const TensorRecord& record : tensors)
    if (record.name == tensor_name) return &record;
  return nullptr;
}

const TensorRecord& Section::tensor(std::string_view tensor_name) const {
  if (const TensorRecord* record = find_tensor(tensor_name)) return *record;
  throw FormatError("section '" + name + "': no tensor named '" + std::string(tensor_name) + "'");
}

// ---- ModelFile --------------------------------------------------------------

const Section* ModelFile::find_section(std::string_view section_name) const {
  for (const Section& s : sections)
    if (s.name == section_name) return &s;
  return nullptr;
}

const Section& ModelFile::section(std::string_view section_name) const {
  if (const Section* s = find_section(section_name)) return *s;
  throw FormatError("no section named '" + std::string(section_name) + "'");
}

Section& ModelFile::add_section(std::string section_name) {
  Section section;
  section.name = std::move(section_name);
  sections.push_back(std::move(section));
  return sections.back();
}

int64_t ModelFile::parameter_count() const {
  int64_t count = 0;
  for (const TensorRecord& record : tensors)
    if (record.dtype == DType::F32) count += record.element_count();
  return count;
}

}  // namespace gc::serialize
