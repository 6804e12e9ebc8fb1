#include "infer/classifier.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <stdexcept>

#include <omp.h>

#include "engine/autograd.h"

namespace gc::infer {

Classifier::Classifier(const std::filesystem::path& model_file) : Classifier(load_model(model_file)) {}

static LoadedModel for_inference(LoadedModel loaded) {
  loaded.model->set_training_mode(false);
  return loaded;
}

Classifier::Classifier(LoadedModel loaded)
    : loaded_(for_inference(std::move(loaded))), plan_(*loaded_.model, loaded_.info.input_shape) {
  if (loaded_.quantization)
    int8_ = std::make_unique<QuantizedModel>(*loaded_.model, *loaded_.quantization, loaded_.info.input_shape);
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
  forward_sliced(images, n, logits, Path::plan);
}

void Classifier::forward_engine(const float* images, int64_t n, float* logits) {
  forward_sliced(images, n, logits, Path::engine);
}

void Classifier::forward_sliced(const float* images, int64_t n, float* logits, Path path) {
  std::lock_guard lock(mutex_);
  // With enough images, each OpenMP thread runs the whole network on its own
  // slices (the kernels then run on that thread alone), rather than all of
  // them joining in every layer: no barrier between layers, and a slice's
  // activations stay in its core's cache. On the 2-core Zen 4 VM, batch 64:
  // 48–52k → 51–71k images/s (bench/RESULTS.md, seventh session). Slices hold
  // kMinSliceImages..kMaxSliceImages, where the kernels cost least per image.
  // A batch too small to give every thread a slice goes through each layer
  // on all threads together, so a many-core machine still uses its cores.
  constexpr int64_t kMinSliceImages = 32, kMaxSliceImages = 64;
  const int64_t threads = omp_get_max_threads();
  if (int64_t(workspaces_.size()) < threads) workspaces_.resize(threads);
  if (threads < 2 || n < threads * kMinSliceImages || omp_in_parallel())
    return forward_slice(images, n, logits, path, workspaces_[0]);
  const int64_t slice = std::min(kMaxSliceImages, (n + threads - 1) / threads);
  const int64_t slices = (n + slice - 1) / slice;
  std::vector<std::exception_ptr> errors(slices);
#pragma omp parallel for schedule(dynamic, 1) num_threads(static_cast<int>(threads))
  for (int64_t k = 0; k < slices; ++k) {
    const int64_t begin = k * slice, count = std::min(slice, n - begin);
    try {
      forward_slice(images + begin * input_size(), count, logits + begin * classes(), path,
                    workspaces_[omp_get_thread_num()]);
    } catch (...) {
      errors[k] = std::current_exception();
    }
  }
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

void Classifier::forward_slice(const float* images, int64_t n, float* logits, Path path, Workspace& workspace) {
  if (path == Path::plan && int8_) return int8_->forward(images, n, logits);
  if (path == Path::plan) return plan_.run(images, n, logits, workspace);
  NoGradGuard no_grad;  // on this thread: the flag is thread-local
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
    if (!std::all_of(row, row + classes(), [](float v) { return std::isfinite(v); }))
      throw std::runtime_error("model '" + info().name + "' v" + std::to_string(info().version) +
                               " gives a non-finite logit for image " + std::to_string(i) + " of " +
                               std::to_string(n) + ": no answer");
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

}  // namespace gc::infer
