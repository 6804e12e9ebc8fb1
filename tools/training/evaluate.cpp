#include "tools/training/evaluate.h"

#include <algorithm>
#include <cmath>

#include "engine/autograd.h"
#include "engine/ops.h"

namespace gc::training {

double Evaluation::class_accuracy(int c) const {
  int64_t total = 0;
  for (int p = 0; p < classes; ++p) total += confusion[c * classes + p];
  return total ? static_cast<double>(confusion[c * classes + c]) / static_cast<double>(total) : 0;
}

Evaluation evaluate(Sequential& model, const data::DataLoader& loader, int64_t batch, int64_t limit, Part part) {
  NoGradGuard no_grad;
  bool was_training = model.training();
  model.set_training_mode(false);
  auto params = model.parameters();
  const Device device = params.empty() ? Device::CPU : params[0].tensor->device();
  Evaluation e = evaluate(
      [&](const Tensor& x) { return model(device == Device::CPU ? x : x.to(device)); }, loader, batch, limit, part);
  model.set_training_mode(was_training);
  return e;
}

Evaluation evaluate(const BatchForward& forward, const data::DataLoader& loader, int64_t batch, int64_t limit,
                    Part part) {
  NoGradGuard no_grad;
  const auto& dataset = loader.dataset();
  const int64_t all = limit > 0 ? std::min<int64_t>(limit, dataset.size()) : dataset.size();
  const int64_t begin = all * part.index / part.count, n = all * (part.index + 1) / part.count;
  Evaluation e;
  std::vector<int32_t> labels(batch);
  for (int64_t first = begin; first < n; first += batch) {
    int64_t b = std::min(batch, n - first);
    Tensor x = Tensor::empty({b, 1, 28, 28});
    labels.resize(b);
    loader.gather(first, b, x.data<float>(), labels.data());
    Tensor logits = forward(x);
    if (e.classes == 0) {
      e.classes = static_cast<int>(logits.dim(1));
      e.confusion.assign(e.classes * e.classes, 0);
    }
    e.loss += softmax_cross_entropy(logits, labels).item() * static_cast<double>(b);
    if (logits.device() != Device::CPU) logits = logits.to(Device::CPU);
    const float* l = logits.data<float>();
    for (int64_t i = 0; i < b; ++i) {
      const float* row = l + i * e.classes;
      if (!std::all_of(row, row + e.classes, [](float v) { return std::isfinite(v); })) {
        ++e.non_finite;
        continue;
      }
      int predicted = static_cast<int>(std::max_element(row, row + e.classes) - row);
      e.correct += predicted == labels[i];
      e.confusion[labels[i] * e.classes + predicted]++;
    }
    e.count += b;
  }
  if (e.count) e.loss /= static_cast<double>(e.count);
  return e;
}

}  // namespace gc::training
