// conv2d, max_pool2d and avg_pool2d over kernels/cpu/conv2d.h and pool2d.h,
// and the inference-only fused conv2d_pool_relu over conv2d_pool.h.
// The backward rules are the kernels' backward passes:
//   conv:  ∂x = conv_transpose(∂y, W),  ∂W = Σ_n ∂y ⋆ x,  ∂b = Σ_{n,h,w} ∂y
//   max:   ∂y routed to the arg-max of each window; avg: ∂y / (kh·kw) spread over the window.
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/ops/common.h"
#include "kernels/cpu/conv2d.h"
#include "kernels/cpu/conv2d_pool.h"
#include "kernels/cpu/pool2d.h"

namespace gc {

static int to_int(int64_t v) { return static_cast<int>(v); }

// The kernel shape of conv2d(x, weight, bias, o), its arguments checked.
static cpu::Conv2dShape conv_shape(const char* op, const Tensor& x, const Tensor& weight, const Tensor& bias,
                                   Conv2dOptions o) {
  detail::check_same_device_dtype(op, {x, weight, bias});
  detail::check_rank(op, "input", x, 4);
  detail::check_rank(op, "weight", weight, 4);
  if (x.dim(1) != weight.dim(1))
    throw_shape_error(op, "input " + x.shape().str() + " has " + std::to_string(x.dim(1)) +
                              " channels but weight " + weight.shape().str() + " expects " +
                              std::to_string(weight.dim(1)));
  if (bias.defined() && (bias.rank() != 1 || bias.dim(0) != weight.dim(0)))
    throw_shape_error(op, "bias " + bias.shape().str() + " does not fit weight " + weight.shape().str());
  cpu::Conv2dShape s{};
  s.n = to_int(x.dim(0)); s.c_in = to_int(x.dim(1)); s.h = to_int(x.dim(2)); s.w = to_int(x.dim(3));
  s.c_out = to_int(weight.dim(0)); s.kh = to_int(weight.dim(2)); s.kw = to_int(weight.dim(3));
  s.stride_h = o.stride.h; s.stride_w = o.stride.w;
  s.pad_h = o.padding.h; s.pad_w = o.padding.w;
  s.dil_h = o.dilation.h; s.dil_w = o.dilation.w;
  if (s.out_h() < 1 || s.out_w() < 1 || s.stride_h < 1 || s.stride_w < 1 || s.dil_h < 1 || s.dil_w < 1 ||
      s.pad_h < 0 || s.pad_w < 0)
    throw_shape_error(op, "input " + x.shape().str() + " with kernel " + weight.shape().str() + ", stride " +
                              o.stride.str() + ", padding " + o.padding.str() + ", dilation " + o.dilation.str() +
                              " gives an empty output");
  return s;
}

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Conv2dOptions o) {
  const cpu::Conv2dShape s = conv_shape("conv2d", x, weight, bias, o);
  Tensor y = Tensor::empty({s.n, s.c_out, s.out_h(), s.out_w()}, x.dtype(), x.device());
  detail::run_kernel(
      x,
      [&]<typename T>() {
        // With no backward pass to follow, the kernel may take a forward-only path.
        const auto forward = needs_grad({x, weight, bias}) ? cpu::conv2d_forward<T> : cpu::conv2d_inference_forward<T>;
        forward(s, x.data<T>(), weight.data<T>(), bias.defined() ? bias.data<T>() : nullptr, y.data<T>());
      },
      [&](const cuda::Kernels& k) {
        k.conv2d_forward(s, x.data<float>(), weight.data<float>(), bias.defined() ? bias.data<float>() : nullptr,
                         y.data<float>());
      });
  return record("conv2d", {x, weight, bias}, y, [x, weight, bias, s](const Tensor& g) {
    Tensor gx, gw, gb;
    if (detail::wants_grad(x)) gx = Tensor::empty(x.shape(), x.dtype(), x.device());
    if (detail::wants_grad(weight)) gw = Tensor::empty(weight.shape(), weight.dtype(), weight.device());
    if (gx.defined() || gw.defined()) {
      // On the CPU one call computes both, sharing the work on g.
      detail::run_kernel(
          g,
          [&]<typename T>() {
            cpu::conv2d_backward(s, x.data<T>(), g.data<T>(), weight.data<T>(),
                                 gx.defined() ? gx.data<T>() : nullptr, gw.defined() ? gw.data<T>() : nullptr);
          },
          [&](const cuda::Kernels& k) {
            if (gx.defined()) k.conv2d_backward_input(s, g.data<float>(), weight.data<float>(), gx.data<float>());
            if (gw.defined()) k.conv2d_backward_weight(s, x.data<float>(), g.data<float>(), gw.data<float>());
          });
    }
    if (detail::wants_grad(bias)) {
      gb = Tensor::empty(bias.shape(), bias.dtype(), bias.device());
      detail::run_kernel(
          g, [&]<typename T>() { cpu::conv2d_backward_bias(s, g.data<T>(), gb.data<T>()); },
          [&](const cuda::Kernels& k) { k.conv2d_backward_bias(s, g.data<float>(), gb.data<float>()); });
    }
    return std::vector<Tensor>{gx, gw, gb};
  });
}

bool conv2d_pool_relu_fits(const Tensor& x, const Tensor& weight, const Tensor& bias, Conv2dOptions o) {
  if (x.device() != Device::CPU || needs_grad({x, weight, bias})) return false;
  try {
    return cpu::conv2d_pool_relu_supports(conv_shape("conv2d_pool_relu", x, weight, bias, o));
  } catch (const std::invalid_argument&) {
    return false;  // conv2d reports what is wrong with the arguments
  }
}

Tensor conv2d_pool_relu(const Tensor& x, const Tensor& weight, const Tensor& bias, Conv2dOptions o) {
  constexpr const char* op = "conv2d_pool_relu";
  const cpu::Conv2dShape s = conv_shape(op, x, weight, bias, o);
  if (x.device() != Device::CPU) throw std::invalid_argument(std::string(op) + ": runs on the CPU only");
  if (needs_grad({x, weight, bias}))
    throw std::invalid_argument(std::string(op) + ": inference only, but an input needs a gradient "
                                "(run under NoGradGuard, or use conv2d, relu and max_pool2d)");
  Tensor y = Tensor::empty({s.n, s.c_out, s.out_h() / 2, s.out_w() / 2}, x.dtype(), x.device());
  dispatch_dtype(x.dtype(), [&]<typename T>() {
    cpu::conv2d_pool_relu_forward(s, x.data<T>(), weight.data<T>(), bias.defined() ? bias.data<T>() : nullptr,
                                  y.data<T>());
  });
  return y;
}

static cpu::Pool2dShape pool_shape(const char* op, const Tensor& x, const Pool2dOptions& o) {
  detail::check_same_device_dtype(op, {x});
  detail::check_rank(op, "input", x, 4);
  const Hw stride{o.stride.h == 0 ? o.kernel.h : o.stride.h, o.stride.w == 0 ? o.kernel.w : o.stride.w};
  cpu::Pool2dShape s{};
  s.n = to_int(x.dim(0)); s.c = to_int(x.dim(1)); s.h = to_int(x.dim(2)); s.w = to_int(x.dim(3));
  s.kh = o.kernel.h; s.kw = o.kernel.w;
  s.stride_h = stride.h; s.stride_w = stride.w;
  s.pad_h = o.padding.h; s.pad_w = o.padding.w;
  const bool axes_ok = s.kh >= 1 && s.kw >= 1 && s.stride_h >= 1 && s.stride_w >= 1 && s.pad_h >= 0 &&
                       s.pad_w >= 0 && s.pad_h * 2 <= s.kh && s.pad_w * 2 <= s.kw;
  if (!axes_ok || s.out_h() < 1 || s.out_w() < 1)
    throw_shape_error(op, "input " + x.shape().str() + " with kernel " + o.kernel.str() + ", stride " +
                              stride.str() + ", padding " + o.padding.str() + " is not a valid pooling");
  return s;
}

Tensor max_pool2d(const Tensor& x, Pool2dOptions o) {
  cpu::Pool2dShape s = pool_shape("max_pool2d", x, o);
  Tensor y = Tensor::empty({s.n, s.c, s.out_h(), s.out_w()}, x.dtype(), x.device());
  if (!needs_grad({x}) && x.device() == Device::CPU) {
    // Nothing will run backward: no arg-max to keep.
    dispatch_dtype(x.dtype(), [&]<typename T>() { cpu::max_pool2d_forward<T>(s, x.data<T>(), y.data<T>(), nullptr); });
    return y;
  }
  // Arg-max indices live in a Storage so they come from the caching allocator.
  auto argmax = std::make_shared<Storage>(static_cast<size_t>(y.numel()) * sizeof(int32_t), x.device());
  auto* indices = static_cast<int32_t*>(argmax->data());
  detail::run_kernel(
      x, [&]<typename T>() { cpu::max_pool2d_forward(s, x.data<T>(), y.data<T>(), indices); },
      [&](const cuda::Kernels& k) { k.max_pool2d_forward(s, x.data<float>(), y.data<float>(), indices); });
  return record("max_pool2d", {x}, y, [x, s, argmax](const Tensor& g) {
    Tensor gx = Tensor::empty(x.shape(), x.dtype(), x.device());
    auto* indices = static_cast<const int32_t*>(argmax->data());
    detail::run_kernel(
        g, [&]<typename T>() { cpu::max_pool2d_backward(s, g.data<T>(), indices, gx.data<T>()); },
        [&](const cuda::Kernels& k) { k.max_pool2d_backward(s, g.data<float>(), indices, gx.data<float>()); });
    return std::vector<Tensor>{gx};
  });
}

Tensor avg_pool2d(const Tensor& x, Pool2dOptions o) {
  cpu::Pool2dShape s = pool_shape("avg_pool2d", x, o);
  Tensor y = Tensor::empty({s.n, s.c, s.out_h(), s.out_w()}, x.dtype(), x.device());
  detail::run_kernel(
      x, [&]<typename T>() { cpu::avg_pool2d_forward(s, x.data<T>(), y.data<T>()); },
      [&](const cuda::Kernels& k) { k.avg_pool2d_forward(s, x.data<float>(), y.data<float>()); });
  return record("avg_pool2d", {x}, y, [x, s](const Tensor& g) {
    Tensor gx = Tensor::empty(x.shape(), x.dtype(), x.device());
    detail::run_kernel(
        g, [&]<typename T>() { cpu::avg_pool2d_backward(s, g.data<T>(), gx.data<T>()); },
        [&](const cuda::Kernels& k) { k.avg_pool2d_backward(s, g.data<float>(), gx.data<float>()); });
    return std::vector<Tensor>{gx};
  });
}

}  // namespace gc
