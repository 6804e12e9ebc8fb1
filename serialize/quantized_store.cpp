#include "serialize/quantized_store.h"

#include <cmath>
#include <cstring>
#include <set>

#include "serialize/model_io.h"
#include "serialize/model_store.h"

namespace gc {

using serialize::FormatError;
using serialize::ModelFile;
using serialize::Section;
using serialize::TensorRecord;

const QuantizedLayer* QuantizationInfo::find_layer(const std::string& name) const {
  for (const QuantizedLayer& layer : layers)
    if (layer.name == name) return &layer;
  return nullptr;
}

void save_quantized_model(const std::filesystem::path& path, Sequential& model, const ModelInfo& info,
                          const QuantizationInfo& q) {
  ModelFile file;
  put_model_metadata(file, model, info);
  file.metadata["model.precision"] = std::string("int8");
  for (const auto& layer : model.layers()) {
    const QuantizedLayer* ql = q.find_layer(layer->name());
    for (const ParamRef& p : layer->parameters()) {
      const std::string name = layer->name() + "." + p.name;
      if (!ql) {
        Tensor f = p.tensor->to(DType::F32);
        file.add_tensor(TensorRecord::from_floats(name, f.shape().to_vector(), f.data<float>()));
      } else if (p.name == "weight") {
        file.add_tensor(TensorRecord::from_i8s(name, ql->weight_shape, ql->weight.data()));
      } else {
        file.add_tensor(TensorRecord::from_i32s(name, {static_cast<int64_t>(ql->bias.size())}, ql->bias.data()));
      }
    }
  }
  Section& s = file.add_section(kQuantizationSection);
  s.metadata["calibration"] = q.calibration;
  s.metadata["calibration.images"] = q.calibration_images;
  s.metadata["calibration.dataset"] = q.calibration_dataset;
  s.metadata["weight.bits"] = q.weight_bits;
  std::vector<double> scales;
  std::vector<int64_t> zero_points;
  for (const ActivationQuantization& a : q.activations) {
    scales.push_back(a.scale);
    zero_points.push_back(a.zero_point);
  }
  s.metadata["activation.scales"] = scales;
  s.metadata["activation.zero_points"] = zero_points;
  s.metadata["layer.precision"] = q.layer_precision;
  std::vector<std::string> names;
  for (const auto& layer : model.layers()) names.push_back(layer->name());
  s.metadata["layer.names"] = names;
  for (const QuantizedLayer& layer : q.layers) s.metadata[layer.name + ".weight_scales"] = layer.weight_scales;
  serialize::write_model_file(path, file);
}

namespace {

void check_scale(double scale, const std::string& where) {
  if (!(std::isfinite(scale) && scale > 0))
    throw FormatError("section 'quantization': " + where + " is " + std::to_string(scale) +
                      ", expected a finite scale > 0");
}

// The float values w = s_w[j]·q of a weight whose first dimension is j.
Tensor dequantized_weight(const QuantizedLayer& l) {
  Tensor t = Tensor::empty(Shape(l.weight_shape), DType::F32);
  float* out = t.data<float>();
  const size_t per_channel = l.weight.size() / l.weight_scales.size();
  for (size_t e = 0; e < l.weight.size(); ++e)
    out[e] = static_cast<float>(l.weight_scales[e / per_channel] * l.weight[e]);
  return t;
}

Tensor dequantized_bias(const QuantizedLayer& l, double input_scale) {
  Tensor t = Tensor::empty(Shape({static_cast<int64_t>(l.bias.size())}), DType::F32);
  for (size_t j = 0; j < l.bias.size(); ++j)
    t.data<float>()[j] = static_cast<float>(input_scale * l.weight_scales[j] * l.bias[j]);
  return t;
}

}  // namespace

QuantizationInfo read_quantization(const ModelFile& file, Sequential& model) {
  const Section& s = file.section(kQuantizationSection);
  QuantizationInfo q;
  q.calibration = s.get_string("calibration");
  q.calibration_images = s.get_int("calibration.images");
  q.calibration_dataset = s.get_string("calibration.dataset");
  q.weight_bits = s.get_int("weight.bits");
  if (q.weight_bits != 8 && q.weight_bits != 7)
    throw FormatError("section 'quantization': metadata 'weight.bits' is " + std::to_string(q.weight_bits) +
                      ", expected 7 or 8");
  const size_t layers = model.layers().size();
  const auto& scales = s.get_floats("activation.scales");
  const auto& zero_points = s.get_ints("activation.zero_points");
  if (scales.size() != layers + 1 || zero_points.size() != layers + 1)
    throw FormatError("section 'quantization': 'activation.scales' has " + std::to_string(scales.size()) +
                      " and 'activation.zero_points' " + std::to_string(zero_points.size()) + " entries, expected " +
                      std::to_string(layers + 1) + " (one per layer input and the output)");
  for (size_t i = 0; i <= layers; ++i) {
    check_scale(scales[i], "activation.scales[" + std::to_string(i) + "]");
    if (zero_points[i] < 0 || zero_points[i] > 255)
      throw FormatError("section 'quantization': activation.zero_points[" + std::to_string(i) + "] is " +
                        std::to_string(zero_points[i]) + ", expected 0..255");
    q.activations.push_back({scales[i], zero_points[i]});
  }
  q.layer_precision = s.get_strings("layer.precision");
  const std::vector<std::string>& names = s.get_strings("layer.names");
  if (q.layer_precision.size() != layers || names.size() != layers)
    throw FormatError("section 'quantization': 'layer.precision' has " + std::to_string(q.layer_precision.size()) +
                      " and 'layer.names' " + std::to_string(names.size()) + " entries, the architecture " +
                      std::to_string(layers) + " layers");
  for (size_t i = 0; i < layers; ++i)
    if (names[i] != model.layers()[i]->name())
      throw FormatError("section 'quantization': layer.names[" + std::to_string(i) + "] is '" + names[i] +
                        "', the architecture's layer " + std::to_string(i) + " is '" + model.layers()[i]->name() + "'");

  const int64_t weight_max = q.weight_bits == 8 ? 127 : 64;
  for (size_t i = 0; i < layers; ++i) {
    Module& layer = *model.layers()[i];
    const std::string& precision = q.layer_precision[i];
    if (precision != "int8" && precision != "fp32")
      throw FormatError("section 'quantization': layer.precision[" + std::to_string(i) + "] is '" + precision +
                        "', expected int8 or fp32");
    if (layer.parameters().empty()) continue;
    const TensorRecord& weight = file.tensor(layer.name() + ".weight");
    const TensorRecord& bias = file.tensor(layer.name() + ".bias");
    const bool integers = weight.dtype == serialize::DType::I8 && bias.dtype == serialize::DType::I32;
    if (precision == "fp32") {
      if (weight.dtype != serialize::DType::F32 || bias.dtype != serialize::DType::F32)
        throw FormatError("layer '" + layer.name() + "' is fp32 (layer.precision) but its tensors are " +
                          serialize::dtype_name(weight.dtype) + " and " + serialize::dtype_name(bias.dtype) +
                          ", expected f32");
      continue;
    }
    if (!integers)
      throw FormatError("layer '" + layer.name() + "' is int8 (layer.precision) but its tensors are " +
                        serialize::dtype_name(weight.dtype) + " and " + serialize::dtype_name(bias.dtype) +
                        ", expected i8 weight and i32 bias");
    QuantizedLayer l;
    l.name = layer.name();
    l.weight_shape = weight.shape;
    auto values = weight.i8s();
    l.weight.assign(values.begin(), values.end());
    for (int8_t v : l.weight)
      if (v < -weight_max || v > weight_max)
        throw FormatError("tensor '" + l.name + ".weight': value " + std::to_string(v) + " outside ±" +
                          std::to_string(weight_max) + " (weight.bits " + std::to_string(q.weight_bits) + ")");
    l.weight_scales = s.get_floats(l.name + ".weight_scales");
    auto bias_values = bias.i32s();
    l.bias.assign(bias_values.begin(), bias_values.end());
    const size_t out = l.weight_shape.empty() ? 0 : static_cast<size_t>(l.weight_shape[0]);
    if (l.weight_scales.size() != out || l.bias.size() != out || out == 0)
      throw FormatError("layer '" + l.name + "': " + std::to_string(l.weight_scales.size()) + " weight scales and " +
                        std::to_string(l.bias.size()) + " biases for " + std::to_string(out) + " output channels");
    for (size_t j = 0; j < out; ++j) check_scale(l.weight_scales[j], l.name + ".weight_scales[" + std::to_string(j) + "]");
    // Shapes are checked against the architecture here, where they are used.
    for (const ParamRef& p : layer.parameters()) {
      const std::vector<int64_t> expected = p.tensor->shape().to_vector();
      const bool is_weight = p.name == "weight";
      const std::vector<int64_t> got = is_weight ? l.weight_shape : std::vector<int64_t>{int64_t(out)};
      if (got != expected)
        throw FormatError("tensor '" + l.name + "." + p.name + "': shape " + Shape(got).str() + ", architecture needs " +
                          p.tensor->shape().str());
      *p.tensor = is_weight ? dequantized_weight(l) : dequantized_bias(l, q.activations[i].scale);
    }
    q.layers.push_back(std::move(l));
  }
  return q;
}

}  // namespace gc
