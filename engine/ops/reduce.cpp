// sum and mean to a one-element tensor of shape [].
//   y = Σ x:  ∂x = ∂y · 1;   y = Σ x / n:  ∂x = ∂y / n · 1
#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/ops/common.h"
#include "kernels/cpu/reduce.h"

namespace gc {

static Tensor scaled_sum(const char* name, const Tensor& x, double factor) {
  detail::check_same_device_dtype(name, {x});
  double total = detail::run_kernel(
      x, [&]<typename T>() { return static_cast<double>(cpu::sum(x.numel(), x.data<T>())); },
      [&](const cuda::Kernels& k) { return static_cast<double>(k.sum(x.numel(), x.data<float>())); });
  Tensor y = Tensor::full(Shape{}, total * factor, x.dtype(), x.device());
  Shape in_shape = x.shape();
  return record(name, {x}, y, [in_shape, factor](const Tensor& g) {
    return std::vector<Tensor>{Tensor::full(in_shape, g.item() * factor, g.dtype(), g.device())};
  });
}

Tensor sum(const Tensor& x) { return scaled_sum("sum", x, 1.0); }

Tensor mean(const Tensor& x) {
  if (x.numel() == 0) throw_shape_error("mean", "of an empty tensor " + x.shape().str());
  return scaled_sum("mean", x, 1.0 / static_cast<double>(x.numel()));
}

}  // namespace gc
