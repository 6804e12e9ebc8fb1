// Int8 models in the .gcm format (docs/FORMAT.md "Quantized models",
// docs/QUANTIZATION.md): section `model` says `model.precision = int8` and
// holds each quantized layer's weights as i8 (the float weight's shape) and
// its bias as i32; layers without an int8 kernel keep f32 parameters. Section
// `quantization` holds the scales and zero points.
//
// Loading such a file (load_model) also fills the float network with the
// dequantized parameters (w = s_w[j]·q, b = s_in·s_w[j]·q_b), so every tool
// that only knows float models still gets a working network; the
// inference runner (infer/quantized_model.h) uses the integers.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "layers/sequential.h"
#include "serialize/model_file.h"

namespace gc {

struct ModelInfo;

// real = scale · (q − zero_point), q ∈ [0, 255].
struct ActivationQuantization {
  double scale = 1.0;
  int64_t zero_point = 0;
};

// A conv or linear layer with s8 weights, symmetric per output channel.
struct QuantizedLayer {
  std::string name;                    // the parameter prefix, "conv1", "fc2"
  std::vector<int64_t> weight_shape;   // as the float weight: [out, in, k, k] or [out, in]
  std::vector<int8_t> weight;          // w ≈ weight_scales[j] · weight
  std::vector<double> weight_scales;   // one per output channel
  std::vector<int32_t> bias;           // b ≈ s_in · weight_scales[j] · bias
};

struct QuantizationInfo {
  std::string calibration = "minmax";  // minmax | percentile
  int64_t calibration_images = 0;
  std::string calibration_dataset;     // the training images it saw
  int64_t weight_bits = 8;             // 8: |q| ≤ 127; 7: |q| ≤ 64
  // The tensor entering layer i of the network, i = 0 .. layers (the last
  // is the network's output).
  std::vector<ActivationQuantization> activations;
  // Per layer: "int8" (an int8 kernel runs it) or "fp32" (dequantize before,
  // quantize after). The file also records the layer names (layer.names).
  std::vector<std::string> layer_precision;
  std::vector<QuantizedLayer> layers;

  const QuantizedLayer* find_layer(const std::string& name) const;
};

inline constexpr const char* kQuantizationSection = "quantization";

// Writes `model`'s architecture, `info`'s metadata, the quantized layers'
// integers and every other parameter as f32 (atomically, like save_model).
void save_quantized_model(const std::filesystem::path& path, Sequential& model, const ModelInfo& info,
                          const QuantizationInfo& quantization);

// Reads section `quantization` and the integer tensors of `file` against the
// architecture `model`, checking every count, shape, scale (finite, > 0) and
// zero point (0..255); errors name the key or tensor. Then sets the model's
// quantized parameters to their dequantized values.
QuantizationInfo read_quantization(const serialize::ModelFile& file, Sequential& model);

}  // namespace gc
