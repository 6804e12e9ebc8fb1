// log_softmax and the fused softmax cross-entropy (kernels/cpu/softmax.h).
//   y = log_softmax(x):  ∂x = ∂y − softmax(x) · Σ_j ∂y_j          (per row)
//   L = −(1/B) Σ_b log softmax(x_b)[label_b]:  ∂x_b = ∂L · (softmax(x_b) − onehot(label_b)) / B
#include <memory>
#include <vector>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/ops/common.h"
#include "kernels/cpu/softmax.h"

namespace gc {

Tensor log_softmax(const Tensor& x) {
  detail::check_same_device_dtype("log_softmax", {x});
  detail::check_rank("log_softmax", "input", x, 2);
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  detail::run_kernel(
      x, [&]<typename T>() { cpu::log_softmax_forward(x.dim(0), x.dim(1), x.data<T>(), y.data<T>()); },
      [&](const cuda::Kernels& k) { k.log_softmax_forward(x.dim(0), x.dim(1), x.data<float>(), y.data<float>()); });
  Tensor saved = y.detach();
  return record("log_softmax", {x}, y, [saved](const Tensor& g) {
    Tensor gx = Tensor::empty(g.shape(), g.dtype(), g.device());
    detail::run_kernel(
        g, [&]<typename T>() { cpu::log_softmax_backward(g.dim(0), g.dim(1), saved.data<T>(), g.data<T>(), gx.data<T>()); },
        [&](const cuda::Kernels& k) {
          k.log_softmax_backward(g.dim(0), g.dim(1), saved.data<float>(), g.data<float>(), gx.data<float>());
        });
    return std::vector<Tensor>{gx};
  });
}

Tensor softmax_cross_entropy(const Tensor& logits, std::span<const int32_t> labels) {
  detail::check_same_device_dtype("softmax_cross_entropy", {logits});
  detail::check_rank("softmax_cross_entropy", "logits", logits, 2);
  if (static_cast<int64_t>(labels.size()) != logits.dim(0))
    throw_shape_error("softmax_cross_entropy", std::to_string(labels.size()) + " labels for logits " +
                                                   logits.shape().str());
  int64_t rows = logits.dim(0), cols = logits.dim(1);
  // Labels are validated on the host (out-of-range labels throw there, naming the row).
  for (int64_t r = 0; r < rows; ++r)
    if (labels[r] < 0 || labels[r] >= cols)
      throw std::invalid_argument("softmax_cross_entropy: row " + std::to_string(r) + " has label " +
                                  std::to_string(labels[r]) + ", expected 0.." + std::to_string(cols - 1));
  auto saved_labels = detail::device_copy(labels.data(), labels.size_bytes(), logits.device());
  const auto* label_data = static_cast<const int32_t*>(saved_labels->data());
  Tensor probs = Tensor::empty(logits.shape(), logits.dtype(), logits.device());
  double value = detail::run_kernel(
      logits,
      [&]<typename T>() {
        return static_cast<double>(
            cpu::softmax_cross_entropy_forward(rows, cols, logits.data<T>(), label_data, probs.data<T>()));
      },
      [&](const cuda::Kernels& k) {
        return static_cast<double>(
            k.softmax_cross_entropy_forward(rows, cols, logits.data<float>(), label_data, probs.data<float>()));
      });
  Tensor loss = Tensor::full(Shape{}, value, logits.dtype(), logits.device());
  return record("softmax_cross_entropy", {logits}, loss, [probs, saved_labels, rows, cols](const Tensor& g) {
    Tensor gx = Tensor::empty(probs.shape(), probs.dtype(), probs.device());
    const auto* label_data = static_cast<const int32_t*>(saved_labels->data());
    double dloss = g.item();
    detail::run_kernel(
        g,
        [&]<typename T>() {
          cpu::softmax_cross_entropy_backward(rows, cols, probs.data<T>(), label_data, T(dloss), gx.data<T>());
        },
        [&](const cuda::Kernels& k) {
          k.softmax_cross_entropy_backward(rows, cols, probs.data<float>(), label_data, static_cast<float>(dloss),
                                           gx.data<float>());
        });
    return std::vector<Tensor>{gx};
  });
}

}  // namespace gc
