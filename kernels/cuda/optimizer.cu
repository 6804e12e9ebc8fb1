// SGD (momentum, Nesterov, weight decay) and Adam/AdamW, one kernel per
// parameter tensor, as kernels/cpu/optimizer.h: the same formulas in the same
// float operations, with Adam's bias corrections computed on the host in
// double and folded as PyTorch (and the CPU kernel) do:
//   w ← w·decay − step_size · m / (√v / √(1 − β2^t) + eps),  step_size = lr / (1 − β1^t).
#include "kernels/cuda/launch.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include "kernels/cuda/backend.h"

namespace gc::cuda::GC_CUDA_NS {
namespace {

#define GC_FOR_EACH_ELEMENT(i, n) \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)

// momentum == 0: w −= lr·(g + wd·w), velocity unused.
__global__ void sgd_plain_kernel(int64_t n, float* __restrict__ w, const float* __restrict__ g, float lr,
                                 float weight_decay) {
  GC_FOR_EACH_ELEMENT(i, n) w[i] -= lr * (g[i] + weight_decay * w[i]);
}

__global__ void sgd_momentum_kernel(int64_t n, float* __restrict__ w, const float* __restrict__ g,
                                    float* __restrict__ velocity, bool first, float lr, float momentum,
                                    float weight_decay, bool nesterov) {
  GC_FOR_EACH_ELEMENT(i, n) {
    const float gd = g[i] + weight_decay * w[i];
    const float buf = first ? gd : momentum * velocity[i] + gd;  // at step 1 the buffer starts as g'
    velocity[i] = buf;
    w[i] -= lr * (nesterov ? gd + momentum * buf : buf);
  }
}

__global__ void adam_kernel(int64_t n, float* __restrict__ w, const float* __restrict__ g, float* __restrict__ m,
                            float* __restrict__ v, float step_size, float bc2_sqrt, float decay_factor, float l2,
                            float beta1, float beta2, float eps) {
  const float one_minus_b1 = 1.0f - beta1, one_minus_b2 = 1.0f - beta2;
  GC_FOR_EACH_ELEMENT(i, n) {
    const float wi = w[i] * decay_factor;
    const float gd = g[i] + l2 * w[i];
    const float mi = beta1 * m[i] + one_minus_b1 * gd;
    const float vi = beta2 * v[i] + one_minus_b2 * gd * gd;
    m[i] = mi;
    v[i] = vi;
    w[i] = wi - step_size * mi / (sqrtf(vi) / bc2_sqrt + eps);
  }
}

#undef GC_FOR_EACH_ELEMENT

void require(bool ok, const char* op, const std::string& what) {
  if (!ok) throw std::invalid_argument(std::string(op) + ": " + what);
}

// !(x >= 0) also rejects NaN.
void check_common(const char* op, int64_t n, int64_t step, float lr, float weight_decay) {
  require(n >= 0, op, "negative element count " + std::to_string(n));
  require(step >= 1, op, "step " + std::to_string(step) + " must be >= 1 (steps count from 1)");
  require(lr >= 0.0f, op, "learning rate " + std::to_string(lr) + " must be >= 0");
  require(weight_decay >= 0.0f, op, "weight decay " + std::to_string(weight_decay) + " must be >= 0");
}

}  // namespace

void sgd_update(int64_t n, float* w, const float* g, float* velocity, int64_t step, float lr, float momentum,
                float weight_decay, bool nesterov) {
  const char* op = "sgd_update";
  check_common(op, n, step, lr, weight_decay);
  require(momentum >= 0.0f, op, "momentum " + std::to_string(momentum) + " must be >= 0");
  require(!nesterov || momentum > 0.0f, op, "Nesterov momentum needs momentum > 0");
  require(momentum == 0.0f || velocity != nullptr, op, "momentum > 0 needs a velocity buffer");
  if (n == 0) return;
  if (momentum == 0.0f)
    GC_LAUNCH(sgd_plain_kernel, grid_for(n), kBlock, 0, nullptr, n, w, g, lr, weight_decay);
  else
    GC_LAUNCH(sgd_momentum_kernel, grid_for(n), kBlock, 0, nullptr, n, w, g, velocity, step == 1, lr, momentum,
              weight_decay, nesterov);
}

void adam_update(int64_t n, float* w, const float* g, float* m, float* v, int64_t step, float lr, float beta1,
                 float beta2, float eps, float weight_decay, bool decoupled) {
  const char* op = "adam_update";
  check_common(op, n, step, lr, weight_decay);
  require(beta1 >= 0.0f && beta1 < 1.0f, op, "beta1 " + std::to_string(beta1) + " must be in [0, 1)");
  require(beta2 >= 0.0f && beta2 < 1.0f, op, "beta2 " + std::to_string(beta2) + " must be in [0, 1)");
  require(eps >= 0.0f, op, "eps " + std::to_string(eps) + " must be >= 0");
  if (n == 0) return;
  const double t = static_cast<double>(step);
  const float step_size = static_cast<float>(lr / (1.0 - std::pow(static_cast<double>(beta1), t)));
  const float bc2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(static_cast<double>(beta2), t)));
  const float decay_factor = decoupled ? 1.0f - lr * weight_decay : 1.0f;
  const float l2 = decoupled ? 0.0f : weight_decay;
  GC_LAUNCH(adam_kernel, grid_for(n), kBlock, 0, nullptr, n, w, g, m, v, step_size, bc2_sqrt, decay_factor, l2, beta1,
            beta2, eps);
}

}  // namespace gc::cuda::GC_CUDA_NS
