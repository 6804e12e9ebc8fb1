#include "serialize/onnx_tensors.h"

#include <cstring>

#include "serialize/model_file.h"

namespace gc {
namespace {

[[noreturn]] void fail(const std::string& source, const std::string& name, const std::string& why) {
  throw serialize::FormatError(source + ": tensor '" + name + "': " + why);
}

int64_t count(const ::onnx::TensorProto& t, const std::string& source, const std::string& name) {
  int64_t n = 1;
  for (int64_t d : onnx_dims(t, source, name)) n *= d;
  return n;
}

// The values of a tensor of `type` whose typed field is `typed` (T's values
// as the field stores them).
template <typename T, typename Field>
std::vector<T> values(const ::onnx::TensorProto& t, int32_t type, const char* type_name, const Field& typed,
                      const std::string& source, const std::string& name) {
  if (t.data_location() == ::onnx::TensorProto::EXTERNAL) fail(source, name, "external data is not supported");
  if (t.data_type() != type)
    fail(source, name, "data_type " + std::to_string(t.data_type()) + ", expected " + type_name + " (" +
                           std::to_string(type) + ")");
  const int64_t n = count(t, source, name);
  std::vector<T> out;
  if (t.has_raw_data()) {
    if (t.raw_data().size() != static_cast<size_t>(n) * sizeof(T))
      fail(source, name, "raw_data holds " + std::to_string(t.raw_data().size()) + " bytes, its dims need " +
                             std::to_string(n * static_cast<int64_t>(sizeof(T))));
    out.resize(n);
    std::memcpy(out.data(), t.raw_data().data(), t.raw_data().size());  // little-endian, as in memory here
  } else {
    if (typed.size() != n)
      fail(source, name, std::to_string(typed.size()) + " values in the typed field, its dims need " + std::to_string(n));
    out.assign(typed.begin(), typed.end());
  }
  return out;
}

}  // namespace

std::vector<int64_t> onnx_dims(const ::onnx::TensorProto& t, const std::string& source, const std::string& name) {
  std::vector<int64_t> dims;
  int64_t n = 1;
  for (int64_t d : t.dims()) {
    if (d < 0) fail(source, name, "negative dimension " + std::to_string(d));
    if (d > 0 && n > kMaxOnnxTensorValues / d)
      fail(source, name, "dims hold more than " + std::to_string(kMaxOnnxTensorValues) + " values");
    n *= d;
    dims.push_back(d);
  }
  return dims;
}

std::vector<float> onnx_floats(const ::onnx::TensorProto& t, const std::string& source, const std::string& name) {
  return values<float>(t, ::onnx::TensorProto::FLOAT, "FLOAT", t.float_data(), source, name);
}

std::vector<int64_t> onnx_int64s(const ::onnx::TensorProto& t, const std::string& source, const std::string& name) {
  return values<int64_t>(t, ::onnx::TensorProto::INT64, "INT64", t.int64_data(), source, name);
}

bool onnx_bool(const ::onnx::TensorProto& t, const std::string& source, const std::string& name) {
  // BOOL values are stored one per byte in raw_data, or in int32_data.
  std::vector<uint8_t> v = values<uint8_t>(t, ::onnx::TensorProto::BOOL, "BOOL", t.int32_data(), source, name);
  if (v.size() != 1) fail(source, name, "expected one bool");
  return v[0] != 0;
}

}  // namespace gc
