#include "infer/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "engine/autograd.h"
#include "infer/int8_groups.h"
#include "layers/layers.h"

namespace gc::infer {

namespace {

// What calibration saw of one activation: its extremes, and (for
// percentile) an evenly strided sample of its values.
struct Observed {
  double lo = 0, hi = 0;
  std::vector<float> sample;
};

constexpr size_t kSamplePerBatch = 20000;  // values kept per activation per batch

void observe(const Tensor& t, Observed& o, bool keep_sample) {
  const float* v = t.data<float>();
  const int64_t n = t.numel();
  for (int64_t e = 0; e < n; ++e) {
    o.lo = std::min(o.lo, double(v[e]));
    o.hi = std::max(o.hi, double(v[e]));
  }
  if (!keep_sample) return;
  const int64_t stride = std::max<int64_t>(1, n / int64_t(kSamplePerBatch));
  for (int64_t e = 0; e < n; e += stride) o.sample.push_back(v[e]);
}

ActivationQuantization from_observed(Observed& o, const std::string& calibration) {
  if (calibration == "minmax" || o.sample.empty()) return activation_quantization(o.lo, o.hi);
  auto quantile = [&](double q) {
    const size_t at = std::min(o.sample.size() - 1, static_cast<size_t>(q * double(o.sample.size() - 1)));
    std::nth_element(o.sample.begin(), o.sample.begin() + at, o.sample.end());
    return double(o.sample[at]);
  };
  return activation_quantization(quantile(0.0001), quantile(0.9999));
}

QuantizedLayer quantize_layer(const std::string& name, const Tensor& weight, const Tensor& bias, double input_scale,
                              int weight_bits) {
  const double q_max = weight_bits == 8 ? 127 : 64;
  QuantizedLayer l;
  l.name = name;
  l.weight_shape = weight.shape().to_vector();
  const int64_t out = l.weight_shape[0], per_channel = weight.numel() / out;
  const float* w = weight.data<float>();
  const float* b = bias.data<float>();
  l.weight.resize(weight.numel());
  for (int64_t j = 0; j < out; ++j) {
    double max_abs = 0;
    for (int64_t p = 0; p < per_channel; ++p) max_abs = std::max(max_abs, std::fabs(double(w[j * per_channel + p])));
    const double scale = max_abs > 0 ? max_abs / q_max : 1.0;
    l.weight_scales.push_back(scale);
    for (int64_t p = 0; p < per_channel; ++p) {
      const double q = std::nearbyint(w[j * per_channel + p] / scale);
      l.weight[j * per_channel + p] = static_cast<int8_t>(std::clamp(q, -q_max, q_max));
    }
    // ±2^30 leaves the int32 sum room for the zero-point term and the products.
    const double q_bias = std::nearbyint(b[j] / (input_scale * scale));
    l.bias.push_back(static_cast<int32_t>(std::clamp(q_bias, -1073741824.0, 1073741824.0)));
  }
  return l;
}

}  // namespace

ActivationQuantization activation_quantization(double lo, double hi) {
  lo = std::min(lo, 0.0);
  hi = std::max(hi, 0.0);
  if (!(hi - lo > 1e-12)) return {1.0 / 255, 0};
  const double scale = (hi - lo) / 255;
  return {scale, static_cast<int64_t>(std::clamp(std::nearbyint(-lo / scale), 0.0, 255.0))};
}

QuantizationInfo quantize_model(Sequential& model, const std::vector<int64_t>& input_shape, const float* images,
                                int64_t count, const QuantizeOptions& options) {
  if (options.calibration != "minmax" && options.calibration != "percentile")
    throw std::invalid_argument("--calib '" + options.calibration + "': expected minmax or percentile");
  if (options.weight_bits != 8 && options.weight_bits != 7)
    throw std::invalid_argument("--weight-bits " + std::to_string(options.weight_bits) + ": expected 8 or 7");
  if (count <= 0) throw std::invalid_argument("quantize: no calibration images");

  // Every layer on its own, so each activation is seen (Sequential would fuse).
  NoGradGuard no_grad;
  model.set_training_mode(false);
  const auto& layers = model.layers();
  std::vector<Observed> observed(layers.size() + 1);
  const bool keep_sample = options.calibration == "percentile";
  int64_t per_image = 1;
  for (int64_t d : input_shape) per_image *= d;
  constexpr int64_t kBatch = 100;
  for (int64_t begin = 0; begin < count; begin += kBatch) {
    const int64_t n = std::min(kBatch, count - begin);
    std::vector<int64_t> dims = {n};
    dims.insert(dims.end(), input_shape.begin(), input_shape.end());
    Tensor x = Tensor::empty(Shape(dims));
    std::memcpy(x.data<float>(), images + begin * per_image, x.bytes());
    observe(x, observed[0], keep_sample);
    for (size_t i = 0; i < layers.size(); ++i) {
      x = (*layers[i])(x);
      observe(x, observed[i + 1], keep_sample);
    }
  }

  QuantizationInfo q;
  q.calibration = options.calibration;
  q.calibration_images = count;
  q.calibration_dataset = options.dataset;
  q.weight_bits = options.weight_bits;
  q.layer_precision = int8_layer_precision(model);
  for (Observed& o : observed) q.activations.push_back(from_observed(o, options.calibration));
  // A u8 operation keeps its input's scale: the runner never requantizes there.
  for (const Int8Group& g : int8_groups(model)) {
    if (g.passes_scale_through()) q.activations[g.end] = q.activations[g.begin];
    if (g.kind != Int8Group::Kind::conv && g.kind != Int8Group::Kind::linear) continue;
    const Module& layer = *layers[g.begin];
    Tensor weight, bias;
    if (auto* conv = dynamic_cast<const Conv2d*>(&layer)) {
      weight = conv->weight;
      bias = conv->bias;
    } else {
      auto& fc = dynamic_cast<const Linear&>(layer);
      weight = fc.weight;
      bias = fc.bias;
    }
    q.layers.push_back(quantize_layer(layer.name(), weight.to(DType::F32), bias.to(DType::F32),
                                      q.activations[g.begin].scale, options.weight_bits));
  }
  return q;
}

}  // namespace gc::infer
