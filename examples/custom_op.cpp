// Example: a new differentiable op. softplus(x) = log(1 + eˣ) runs its own
// loop over the elements, records its backward, ∂x = ∂y · σ(x), on the
// autograd tape (engine/autograd.h), and is checked against central finite
// differences in double precision (engine/gradcheck.h) inside a small graph
// with built-in ops. Prints one line per checked tensor; exits 1 on a mismatch.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <random>
#include <stdexcept>
#include <vector>

#include "engine/autograd.h"
#include "engine/gradcheck.h"
#include "engine/ops.h"

// y[i] = f(x[i]) over a CPU tensor of either dtype (f32 or f64).
template <typename F>
static gc::Tensor map(const gc::Tensor& x, F f) {
  gc::Tensor y = gc::Tensor::empty(x.shape(), x.dtype());
  gc::dispatch_dtype(x.dtype(), [&]<typename T>() {
    const T* in = x.data<T>();
    T* out = y.data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) out[i] = static_cast<T>(f(static_cast<double>(in[i])));
  });
  return y;
}

static gc::Tensor softplus(const gc::Tensor& x) {
  if (x.device() != gc::Device::CPU) throw std::invalid_argument("softplus: CPU tensors only");
  // max(x, 0) + log(1 + e^−|x|) equals log(1 + eˣ) without overflowing for large x.
  gc::Tensor y = map(x, [](double v) { return std::max(v, 0.0) + std::log1p(std::exp(-std::abs(v))); });
  // Recorded only when x needs a gradient; the closure keeps x alive until backward has run.
  return gc::record("softplus", {x}, y, [x](const gc::Tensor& grad_y) {
    gc::Tensor sigmoid_x = map(x, [](double v) { return 1 / (1 + std::exp(-v)); });
    return std::vector<gc::Tensor>{gc::mul(grad_y, sigmoid_x)};
  });
}

static gc::Tensor random_tensor(const gc::Shape& shape, std::mt19937& rng, const char* name) {
  std::uniform_real_distribution<double> u(-2, 2);
  std::vector<double> values(shape.numel());
  for (double& v : values) v = u(rng);
  gc::Tensor t = gc::Tensor::from_vector(shape, values);
  t.set_name(name);
  return t;
}

int main() {
  try {
    std::mt19937 rng(3);
    gc::Tensor x = random_tensor({4, 3}, rng, "x").requires_grad_();
    gc::Tensor w = random_tensor({3, 5}, rng, "w").requires_grad_();
    gc::Tensor r = random_tensor({4, 5}, rng, "r");  // a distinct upstream gradient per element
    auto loss = [&] { return gc::sum(gc::mul(softplus(gc::matmul(x, w)), r)); };

    bool passed = true;
    for (const gc::GradcheckResult& c : gc::gradcheck(loss, {x, w})) {
      std::printf("%-2s %s  %lld elements  max abs error %.2e  max rel error %.2e  %s\n", c.name.c_str(),
                  c.shape.str().c_str(), static_cast<long long>(c.checked), c.max_abs_error, c.max_rel_error,
                  c.passed ? "ok" : "MISMATCH");
      passed = passed && c.passed;
    }
    std::printf("gradcheck %s\n", passed ? "passed" : "failed");
    return passed ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "custom_op: %s\n", e.what());
    return 1;
  }
}
