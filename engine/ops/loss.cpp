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
  detail::check_cpu_same_dtype("log_softmax", {x});
  detail::check_rank("log_softmax", "input", x, 2);
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  dispatch_dtype(x.dtype(), [&]<typename T>() {
    cpu::log_softmax_forward(x.dim(0), x.dim(1), x.data<T>(), y.data<T>());
  });
  Tensor saved = y.detach();
  return record("log_softmax", {x}, y, [saved](const Tensor& g) {
    Tensor gx = Tensor::empty(g.shape(), g.dtype());
    dispatch_dtype(g.dtype(), [&]<typename T>() {
      cpu::log_softmax_backward(g.dim(0), g.dim(1), saved.data<T>(), g.data<T>(), gx.data<T>());
    });
    return std::vector<Tensor>{gx};
  });
}

Tensor softmax_cross_entropy(const Tensor& logits, std::span<const int32_t> labels) {
  detail::check_cpu_same_dtype("softmax_cross_entropy", {logits});
  detail::check_rank("softmax_cross_entropy", "logits", logits, 2);
  if (static_cast<int64_t>(labels.size()) != logits.dim(0))
    throw_shape_error("softmax_cross_entropy", std::to_string(labels.size()) + " labels for logits " +
                                                   logits.shape().str());
  int64_t rows = logits.dim(0), cols = logits.dim(1);
  Tensor probs = Tensor::empty(logits.shape(), logits.dtype());
  Tensor loss = Tensor::empty(Shape{}, logits.dtype());
  dispatch_dtype(logits.dtype(), [&]<typename T>() {
    *loss.data<T>() = cpu::softmax_cross_entropy_forward(rows, cols, logits.data<T>(), labels.data(), probs.data<T>());
  });
  auto saved_labels = std::make_shared<std::vector<int32_t>>(labels.begin(), labels.end());
  return record("softmax_cross_entropy", {logits}, loss, [probs, saved_labels, rows, cols](const Tensor& g) {
    Tensor gx = Tensor::empty(probs.shape(), probs.dtype());
    dispatch_dtype(g.dtype(), [&]<typename T>() {
      cpu::softmax_cross_entropy_backward(rows, cols, probs.data<T>(), saved_labels->data(), T(g.item()),
                                          gx.data<T>());
    });
    return std::vector<Tensor>{gx};
  });
}

}  // namespace gc
