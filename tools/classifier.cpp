#include "tools/classifier.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/autograd.h"

namespace gc::tools {

Classifier::Classifier(const std::filesystem::path& model_file) : loaded_(load_model(model_file)) {
  loaded_.model->set_training_mode(false);
  const ModelInfo& i = loaded_.info;
  for (int p = 0; p < 256; ++p)
    pixel_values_[p] = static_cast<float>((p * i.input_scale - i.input_mean) / i.input_std);
}

int64_t Classifier::input_size() const {
  int64_t n = 1;
  for (int64_t d : loaded_.info.input_shape) n *= d;
  return n;
}

void Classifier::normalise(const uint8_t* pixels, int64_t n, float* out) const {
  const int64_t count = n * input_size();
  for (int64_t k = 0; k < count; ++k) out[k] = pixel_values_[pixels[k]];
}

void Classifier::forward(const float* images, int64_t n, float* logits) {
  std::lock_guard lock(mutex_);
  NoGradGuard no_grad;
  std::vector<int64_t> dims = {n};
  dims.insert(dims.end(), loaded_.info.input_shape.begin(), loaded_.info.input_shape.end());
  Tensor x = Tensor::empty(Shape(dims));
  std::memcpy(x.data<float>(), images, x.bytes());
  Tensor y = (*loaded_.model)(x);
  std::memcpy(logits, y.data<float>(), y.bytes());
}

std::vector<Prediction> Classifier::classify(const uint8_t* pixels, int64_t n) {
  std::vector<float> inputs(n * input_size()), logits(n * classes());
  normalise(pixels, n, inputs.data());
  forward(inputs.data(), n, logits.data());
  std::vector<Prediction> out(n);
  for (int64_t i = 0; i < n; ++i) {
    const float* row = logits.data() + i * classes();
    out[i].logits.assign(row, row + classes());
    out[i].probabilities = softmax(row, classes());
    out[i].label = static_cast<int>(std::max_element(row, row + classes()) - row);
  }
  return out;
}

std::vector<float> softmax(const float* logits, int classes) {
  float max = *std::max_element(logits, logits + classes);
  std::vector<float> p(classes);
  double total = 0;
  for (int c = 0; c < classes; ++c) total += p[c] = std::exp(logits[c] - max);
  for (float& v : p) v = static_cast<float>(v / total);
  return p;
}

}  // namespace gc::tools
