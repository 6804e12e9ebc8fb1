#include "kernels/cpu/optimizer.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace gc::cpu {
namespace {

constexpr int64_t kParallelMin = 1 << 15;

void require(bool ok, const char* op, const std::string& what) {
  if (!ok) throw std::invalid_argument(std::string(op) + ": " + what);
}

// The common checks; !(x >= 0) also rejects NaN.
void check_common(const char* op, int64_t n, int64_t step, float lr, float weight_decay) {
  require(n >= 0, op, "negative element count " + std::to_string(n));
  require(step >= 1, op, "step " + std::to_string(step) + " must be >= 1 (steps count from 1)");
  require(lr >= 0.0f, op, "learning rate " + std::to_string(lr) + " must be >= 0");
  require(weight_decay >= 0.0f, op, "weight decay " + std::to_string(weight_decay) + " must be >= 0");
}

}  // namespace

void sgd_update(int64_t n, float* w, const float* g, float* velocity, int64_t step, float lr,
                float momentum, float weight_decay, bool nesterov) {
  const char* op = "sgd_update";
  check_common(op, n, step, lr, weight_decay);
  require(momentum >= 0.0f, op, "momentum " + std::to_string(momentum) + " must be >= 0");
  require(!nesterov || momentum > 0.0f, op, "Nesterov momentum needs momentum > 0");
  require(momentum == 0.0f || velocity != nullptr, op, "momentum > 0 needs a velocity buffer");

  if (momentum == 0.0f) {
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
    for (int64_t i = 0; i < n; ++i) w[i] -= lr * (g[i] + weight_decay * w[i]);
    return;
  }
  // At step 1 the buffer starts as g' (PyTorch's torch.clone(d_p)); it is
  // not read then, so it may hold anything.
  const bool first = step == 1;
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    const float gd = g[i] + weight_decay * w[i];
    const float buf = first ? gd : momentum * velocity[i] + gd;
    velocity[i] = buf;
    const float direction = nesterov ? gd + momentum * buf : buf;
    w[i] -= lr * direction;
  }
}

void adam_update(int64_t n, float* w, const float* g, float* m, float* v, int64_t step, float lr,
                 float beta1, float beta2, float eps, float weight_decay, bool decoupled) {
  const char* op = "adam_update";
  check_common(op, n, step, lr, weight_decay);
  require(beta1 >= 0.0f && beta1 < 1.0f, op, "beta1 " + std::to_string(beta1) + " must be in [0, 1)");
  require(beta2 >= 0.0f && beta2 < 1.0f, op, "beta2 " + std::to_string(beta2) + " must be in [0, 1)");
  require(eps >= 0.0f, op, "eps " + std::to_string(eps) + " must be >= 0");

  // Bias corrections in double, then folded as PyTorch does:
  //   w −= (lr/(1 − β1^t)) · m / (√v / √(1 − β2^t) + eps)  ==  w −= lr·m̂/(√v̂ + eps)
  const double t = static_cast<double>(step);
  const float step_size = static_cast<float>(lr / (1.0 - std::pow(static_cast<double>(beta1), t)));
  const float bc2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(static_cast<double>(beta2), t)));
  const float decay_factor = decoupled ? 1.0f - lr * weight_decay : 1.0f;
  const float l2 = decoupled ? 0.0f : weight_decay;
  const float one_minus_b1 = 1.0f - beta1;
  const float one_minus_b2 = 1.0f - beta2;
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    const float wi = w[i] * decay_factor;
    const float gd = g[i] + l2 * w[i];
    const float mi = beta1 * m[i] + one_minus_b1 * gd;
    const float vi = beta2 * v[i] + one_minus_b2 * gd * gd;
    m[i] = mi;
    v[i] = vi;
    w[i] = wi - step_size * mi / (std::sqrt(vi) / bc2_sqrt + eps);
  }
}

}  // namespace gc::cpu
