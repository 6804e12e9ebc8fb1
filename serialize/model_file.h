// The in-memory form of a gradcore model file (docs/FORMAT.md): sections of
// typed metadata and named tensors. Neutral on purpose: it knows nothing about
// the engine's Tensor type; layers/ converts parameters to TensorRecords.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace gc::serialize {

// A file that breaks the format, or a lookup of something the file does not
// hold. The message names the file, the field, and expected vs found.
struct FormatError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Element types. Codes are the on-disk values; never renumber.
enum class DType : uint32_t {
  F32 = 0,
  F16 = 1,   // raw binary16 bits
  BF16 = 2,  // raw bfloat16 bits
  I8Q = 3,   // reserved: int8 with scales, not readable or writable in 1.0
  I32 = 4,
  U64 = 5,
  I8 = 6,  // since 1.1: signed bytes (quantized weights)
  U8 = 7,  // since 1.1: unsigned bytes (quantized activations)
};

// Element size in bytes; 0 for a code that is unknown or reserved.
size_t dtype_size(DType dtype);
// "f32", "u64", ...; "dtype(17)" for unknown codes.
std::string dtype_name(DType dtype);

using MetaValue = std::variant<int64_t, double, std::string, std::vector<int64_t>,
                               std::vector<double>, std::vector<std::string>>;
// "int", "float", "string", "int array", "float array", "string array".
std::string_view meta_type_name(const MetaValue& value);

struct TensorRecord {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<std::byte> data;  // product(shape) * dtype_size(dtype) bytes, little-endian

  static TensorRecord from_floats(std::string name, std::vector<int64_t> shape, const float* values);
  static TensorRecord from_u64s(std::string name, std::vector<int64_t> shape, const uint64_t* values);
  static TensorRecord from_i32s(std::string name, std::vector<int64_t> shape, const int32_t* values);
  static TensorRecord from_i8s(std::string name, std::vector<int64_t> shape, const int8_t* values);

  int64_t element_count() const;
  // The data as typed values; throws FormatError when the dtype differs.
  std::span<const float> floats() const;
  std::span<const uint64_t> u64s() const;
  std::span<const int32_t> i32s() const;
  std::span<const int8_t> i8s() const;
};

// A section's name and metadata. Getters throw FormatError for a missing key
// or a wrong type: "section 'model': metadata 'train.epochs' is string,
// expected int".
struct SectionMetadata {
  std::string name;
  std::map<std::string, MetaValue> metadata;

  bool has(const std::string& key) const { return metadata.contains(key); }
  int64_t get_int(const std::string& key) const;
  double get_float(const std::string& key) const;  // an int value is converted
  const std::string& get_string(const std::string& key) const;
  const std::vector<int64_t>& get_ints(const std::string& key) const;
  const std::vector<double>& get_floats(const std::string& key) const;
  const std::vector<std::string>& get_strings(const std::string& key) const;
};

// One named section: the model itself, or a checkpoint part (optimizer, rng,
// loader), with its tensors.
struct Section : SectionMetadata {
  std::vector<TensorRecord> tensors;

  const TensorRecord* find_tensor(std::string_view tensor_name) const;
  const TensorRecord& tensor(std::string_view tensor_name) const;  // throws if absent
  void add_tensor(TensorRecord record) { tensors.push_back(std::move(record)); }
};

inline constexpr std::string_view kModelSectionName = "model";

// A whole file: the model section (its metadata and tensors are this object's
// own) plus optional checkpoint sections, in file order.
struct ModelFile : Section {
  ModelFile() { name = std::string(kModelSectionName); }
  std::vector<Section> sections;

  const Section* find_section(std::string_view section_name) const;
  const Section& section(std::string_view section_name) const;  // throws if absent
  Section& add_section(std::string section_name);

  // Number of f32 elements in the model section.
  int64_t parameter_count() const;
};

}  // namespace gc::serialize
