// Accuracy, loss and confusion matrix of a model over a dataset.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "layers/sequential.h"
#include "tools/data/loader.h"

namespace gc::training {

struct Evaluation {
  int64_t count = 0, correct = 0;
  double loss = 0;  // mean cross-entropy
  int classes = 0;
  std::vector<int64_t> confusion;  // [true][predicted], classes × classes
  int64_t non_finite = 0;           // images with a NaN or infinite logit (counted wrong, not in confusion)

  double accuracy() const { return count ? static_cast<double>(correct) / static_cast<double>(count) : 0; }
  double class_accuracy(int c) const;
};

// Part `index` of `count` equal parts of the examples (data-parallel runs).
struct Part {
  int64_t index = 0, count = 1;
};

// Runs the model in evaluation mode without recording a graph, over the
// first `limit` examples (all when limit ≤ 0), or over `part` of them,
// `batch` at a time, normalised like `loader` does.
Evaluation evaluate(Sequential& model, const data::DataLoader& loader, int64_t batch, int64_t limit = 0,
                    Part part = {});

// The same for any batch function: inputs [b, 1, 28, 28] on the CPU → logits
// [b, classes] on any device (an int8 model's runner, say).
using BatchForward = std::function<Tensor(const Tensor& inputs)>;
Evaluation evaluate(const BatchForward& forward, const data::DataLoader& loader, int64_t batch, int64_t limit = 0,
                    Part part = {});

}  // namespace gc::training
