// A trained model ready for inference: loads a .gcm file, turns raw 28×28
// uint8 images into the model's input (input.scale, input.mean, input.std from
// the file) and returns logits and probabilities. Used by predict, eval, the
// server, bench, and the load generator's in-process check. The forward pass
// runs the model's compiled inference plan (infer/plan.h), built here; an
// int8 model (model.precision = int8) runs on the int8 runner
// (infer/quantized_model.h) instead.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "infer/plan.h"
#include "infer/quantized_model.h"
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
  // "int8" or "fp32": which runner forward uses.
  const char* precision() const { return int8_ ? "int8" : "fp32"; }

  // pixels: n × input_size() bytes → n × input_size() normalised floats.
  void normalise(const uint8_t* pixels, int64_t n, float* out) const;
  // images: n normalised inputs → n × classes() logits. Calls are serialised
  // by a mutex; within one, large batches run in slices on the OpenMP threads.
  void forward(const float* images, int64_t n, float* logits);
  // The same through the engine's own forward pass (Sequential::forward,
  // tensors and all), sliced the same way: the plan's reference in tests
  // and its baseline in `gradcore bench --path engine`.
  void forward_engine(const float* images, int64_t n, float* logits);
  const Plan& plan() const { return plan_; }
  // Throws when a logit is NaN or infinite rather than answer with it.
  std::vector<Prediction> classify(const uint8_t* pixels, int64_t n);

 private:
  enum class Path { plan, engine };
  void forward_sliced(const float* images, int64_t n, float* logits, Path path);
  // One slice through the network on the calling thread's team; workspace
  // is the plan's buffers for this slice's thread.
  void forward_slice(const float* images, int64_t n, float* logits, Path path, Workspace& workspace);

  LoadedModel loaded_;
  Plan plan_;
  std::vector<Workspace> workspaces_;  // one per OpenMP thread
  std::unique_ptr<QuantizedModel> int8_;  // set for an int8 model: forward runs it
  // (p · input_scale − input_mean) / input_std for each byte value p, in
  // double then rounded once: a table lookup per pixel instead of a double
  // division (which took 1.5% of a serving core).
  std::array<float, 256> pixel_values_{};
  std::mutex mutex_;
};

// softmax of one row of logits.
std::vector<float> softmax(const float* logits, int classes);

}  // namespace gc::infer
