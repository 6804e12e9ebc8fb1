// Inverted dropout (kernels/cpu/dropout.h): y = x · mask, mask ∈ {0, 1/(1−p)};
// ∂x = ∂y · mask.
#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/ops/common.h"
#include "kernels/cpu/dropout.h"

namespace gc {

Tensor dropout(const Tensor& x, double p, uint64_t seed, bool training) {
  if (!(p >= 0.0 && p < 1.0))
    throw std::invalid_argument("dropout: probability must be in [0, 1), got " + std::to_string(p));
  if (!training || p == 0.0) return x;
  detail::check_same_device_dtype("dropout", {x});
  Tensor mask = Tensor::empty(x.shape(), x.dtype(), x.device());
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  detail::run_kernel(
      x, [&]<typename T>() { cpu::dropout_forward(x.numel(), T(p), seed, x.data<T>(), mask.data<T>(), y.data<T>()); },
      [&](const cuda::Kernels& k) {
        k.dropout_forward(x.numel(), static_cast<float>(p), seed, x.data<float>(), mask.data<float>(), y.data<float>());
      });
  return record("dropout", {x}, y, [mask](const Tensor& g) {
    Tensor gx = Tensor::empty(g.shape(), g.dtype(), g.device());
    detail::run_kernel(
        g, [&]<typename T>() { cpu::dropout_backward(g.numel(), mask.data<T>(), g.data<T>(), gx.data<T>()); },
        [&](const cuda::Kernels& k) { k.dropout_backward(g.numel(), mask.data<float>(), g.data<float>(), gx.data<float>()); });
    return std::vector<Tensor>{gx};
  });
}

}  // namespace gc
