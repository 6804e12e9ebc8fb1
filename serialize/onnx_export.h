// A gradcore model as an ONNX file (docs/ONNX.md), written with Debian's ONNX
// library (libonnx 1.12) and checked by its checker before anything is
// written.
//
// The graph takes `input`, float32 [N, c, h, w] already normalised, with a
// symbolic batch N, and gives `logits` [N, classes]. With raw_input it takes
// `pixels`, uint8 [N, c, h, w], and its first nodes do the model's own
// preprocessing: Cast to float, Mul input.scale, Sub input.mean, Div
// input.std. Each layer becomes one node named after the layer (conv1, relu2,
// fc1, ...): Conv, MaxPool, AveragePool, Relu, Tanh, Sigmoid, Flatten (axis
// 1), Gemm (transB = 1, so the weight keeps our [out, in] layout) and Dropout
// (an identity at inference). Labels, name, version, architecture and the
// preprocessing constants go into metadata_props.
#pragma once

#include <filesystem>
#include <string>

#include "layers/sequential.h"
#include "serialize/model_store.h"

namespace gc {

struct OnnxExportOptions {
  int opset = 13;  // 11 to 17, what ONNX 1.12 knows
  bool raw_input = false;
};

inline constexpr int kOnnxMinOpset = 11, kOnnxMaxOpset = 17;

// The serialized ModelProto, after onnx::checker::check_model and strict
// shape inference accepted it. Throws std::invalid_argument naming a layer
// without an ONNX equivalent or a bad option, std::runtime_error with the
// checker's message.
std::string export_onnx(Sequential& model, const ModelInfo& info, const OnnxExportOptions& options);

// export_onnx, then written atomically (serialize/atomic_file.h).
void save_onnx(const std::filesystem::path& path, Sequential& model, const ModelInfo& info,
               const OnnxExportOptions& options);

}  // namespace gc
