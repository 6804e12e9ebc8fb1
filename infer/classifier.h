// A trained model ready for inference: loads a .gcm file, turns raw 28×28
// uint8 images into the model's input (input.scale, input.mean, input.std from
// the file) and returns logits and probabilities. Used by predict, the
// server, and the load generator's in-process check.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "serialize/model_store.h"

namespace gc::infer {

struct Prediction {
  int label = -1;
  std::vector<float> probabilities;
  std::vector<float> logits;
};

class Classifier {
 public:
  explicit Classifier(const std::filesystem::path& model_file);
  // A model already loaded, e.g. imported from ONNX (serialize/onnx_load.h).
  explicit Classifier(LoadedModel loaded);

  const ModelInfo& info() const { return loaded_.info; }
  const ModelOrigin& origin() const { return loaded_.origin; }
  std::string architecture() { return loaded_.model->spec(); }
  int classes() const { return static_cast<int>(loaded_.info.labels.size()); }
  int64_t input_size() const;

  // pixels: n × input_size() bytes → n × input_size() normalised floats.
  void normalise(const uint8_t* pixels, int64_t n, float* out) const;
  // images: n normalised inputs → n × classes() logits. Calls are serialised
  // by a mutex; within one, large batches run in slices on the OpenMP threads.
  void forward(const float* images, int64_t n, float* logits);
  // Throws when a logit is NaN or infinite rather than answer with it.
  std::vector<Prediction> classify(const uint8_t* pixels, int64_t n);

 private:
  // One slice through the network on the calling thread's team.
  void forward_slice(const float* images, int64_t n, float* logits);

  LoadedModel loaded_;
  // (p · input_scale − input_mean) / input_std for each byte value p, in
  // double then rounded once: a table lookup per pixel instead of a double
  // division (which took 1.5% of a serving core).
  std::array<float, 256> pixel_values_{};
  std::mutex mutex_;
};

// softmax of one row of logits.
std::vector<float> softmax(const float* logits, int classes);

}  // namespace gc::infer
