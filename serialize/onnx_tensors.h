// Reading ONNX TensorProtos (initializers, Constant values) with every size
// checked before anything is copied: dims non-negative and bounded, data in
// raw_data (little-endian) or the typed field, exactly as many values as the
// dims say. Errors are serialize::FormatError naming the source and tensor.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>
#include <vector>

namespace gc {

// No constant may hold more values than this (1 GiB of floats).
inline constexpr int64_t kMaxOnnxTensorValues = int64_t{1} << 28;

std::vector<int64_t> onnx_dims(const ::onnx::TensorProto& t, const std::string& source, const std::string& name);
// FLOAT tensors.
std::vector<float> onnx_floats(const ::onnx::TensorProto& t, const std::string& source, const std::string& name);
// INT64 tensors (Reshape's shape).
std::vector<int64_t> onnx_int64s(const ::onnx::TensorProto& t, const std::string& source, const std::string& name);
// A one-value BOOL tensor (Dropout's training_mode).
bool onnx_bool(const ::onnx::TensorProto& t, const std::string& source, const std::string& name);

}  // namespace gc
