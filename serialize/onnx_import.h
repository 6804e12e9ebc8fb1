// An ONNX classifier as a gradcore model (docs/ONNX.md): the graph is read
// with Debian's ONNX protobuf classes and turned into what a .gcm file holds,
// an architecture spec (layers/spec.h), one f32 tensor per parameter and the
// metadata, so the native loader's checks (serialize/model_store.h) then apply
// to it unchanged.
//
// Accepted: the graphs torch.onnx.export writes for a chain of layers, opsets
// 11 to 17: Conv (group 1, any kernel, strides and dilations per axis, pads
// the same on both sides of an axis), MaxPool and AveragePool (the same
// rule for pads, at most half the kernel, the average counting them; floor),
// Relu, Tanh, Sigmoid, Flatten (axis 1), Reshape to [-1, F], [0, F] or
// [0, -1] with a constant shape, Gemm (transA 0, any transB, alpha, beta),
// MatMul with a constant right side (and an Add of a constant bias after it),
// Identity, Dropout, Constant, a Pad of zeros folded into the Conv or
// AveragePool after it (torch writes AvgPool2d's padding so); initializers as raw_data or typed fields. A
// graph whose uint8 input goes through Cast, Mul, Sub and Div by constants
// (gradcore export --raw-input) gives those constants as input.scale,
// input.mean and input.std.
//
// Everything else is refused before any tensor is converted: an op outside
// that list names the node, its op_type, the opset and the list. Malformed
// protobuf, dims that are negative, huge or inconsistent with the data, a
// missing initializer, a cycle, a branch or a shape that does not fit the
// next layer all throw serialize::FormatError naming the file and the node,
// initializer or field.
#pragma once

#include <cstddef>
#include <span>
#include <string>

#include "serialize/model_file.h"

namespace gc {

// Larger ONNX files are refused before they are read.
inline constexpr size_t kMaxOnnxBytes = size_t{1} << 30;

// The model section of a .gcm file for the ONNX model in `bytes` (header):
// metadata model.*, input.*, labels, train.* (from the file's metadata_props
// when gradcore wrote it, else defaults for MNIST) and origin.* (format,
// file, producer, opset), and the parameters conv1.weight, fc1.bias, ...
serialize::ModelFile onnx_to_model_file(std::span<const std::byte> bytes, const std::string& source);

}  // namespace gc
