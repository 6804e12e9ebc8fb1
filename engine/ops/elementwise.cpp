// Elementwise ops with numpy-style broadcasting (kernels/cpu/elementwise.h)
// and the activations (kernels/cpu/activation.h).
//   add: ∂a = ∂y, ∂b = ∂y;  sub: ∂b = −∂y;  mul: ∂a = ∂y·b, ∂b = ∂y·a
// each then summed over the dimensions that were broadcast.
#include <algorithm>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/ops/common.h"
#include "kernels/cpu/activation.h"
#include "kernels/cpu/elementwise.h"

namespace gc {

// Right-aligns a shape into 4 dims with leading 1s.
static cpu::Dims4 dims4(const Shape& s) {
  cpu::Dims4 d{{1, 1, 1, 1}};
  for (int i = 0; i < s.rank(); ++i) d.d[4 - s.rank() + i] = s[i];
  return d;
}

// Contiguous strides of `s` seen in the 4-dim output space; 0 where broadcast.
static cpu::Dims4 broadcast_strides(const Shape& s) {
  cpu::Dims4 d = dims4(s), strides{};
  int64_t stride = 1;
  for (int i = 3; i >= 0; --i) {
    strides.d[i] = d.d[i] == 1 ? 0 : stride;
    stride *= d.d[i];
  }
  return strides;
}

static Shape broadcast_shape(const char* op, const Shape& a, const Shape& b) {
  int rank = std::max(a.rank(), b.rank());
  std::vector<int64_t> out(rank);
  for (int i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.rank() ? 1 : a[i - (rank - a.rank())];
    int64_t db = i < rank - b.rank() ? 1 : b[i - (rank - b.rank())];
    if (da != db && da != 1 && db != 1)
      throw_shape_error(op, "shapes " + a.str() + " and " + b.str() + " cannot be broadcast together");
    out[i] = std::max(da, db);
  }
  return Shape(out);
}

// ∂y summed down to the shape of the operand that was broadcast.
static Tensor reduce_to(const Tensor& g, const Shape& target) {
  if (g.shape() == target) return g;
  Tensor out = Tensor::empty(target, g.dtype(), g.device());
  detail::run_kernel(
      g, [&]<typename T>() { cpu::sum_to_shape(dims4(g.shape()), g.data<T>(), dims4(target), out.data<T>()); },
      [&](const cuda::Kernels& k) {
        k.sum_to_shape(dims4(g.shape()), g.data<float>(), dims4(target), out.data<float>());
      });
  return out;
}

static Tensor binary_raw(cpu::BinaryOp op, const Tensor& a, const Tensor& b, const Shape& out_shape) {
  Tensor y = Tensor::empty(out_shape, a.dtype(), a.device());
  cpu::Dims4 shape = dims4(out_shape), sa = broadcast_strides(a.shape()), sb = broadcast_strides(b.shape());
  detail::run_kernel(
      a, [&]<typename T>() { cpu::binary_forward(op, shape, a.data<T>(), sa, b.data<T>(), sb, y.data<T>()); },
      [&](const cuda::Kernels& k) { k.binary_forward(op, shape, a.data<float>(), sa, b.data<float>(), sb, y.data<float>()); });
  return y;
}

static Tensor binary(const char* name, cpu::BinaryOp op, const Tensor& a, const Tensor& b) {
  detail::check_same_device_dtype(name, {a, b});
  Shape out_shape = broadcast_shape(name, a.shape(), b.shape());
  Tensor y = binary_raw(op, a, b, out_shape);
  return record(name, {a, b}, y, [op, a, b](const Tensor& g) {
    Tensor ga, gb;
    if (detail::wants_grad(a))
      ga = reduce_to(op == cpu::BinaryOp::Mul ? binary_raw(op, g, b, g.shape()) : g, a.shape());
    if (detail::wants_grad(b)) {
      if (op == cpu::BinaryOp::Mul) gb = reduce_to(binary_raw(op, g, a, g.shape()), b.shape());
      else if (op == cpu::BinaryOp::Sub) gb = reduce_to(scale(g, -1.0), b.shape());
      else gb = reduce_to(g, b.shape());
    }
    return std::vector<Tensor>{ga, gb};
  });
}

Tensor add(const Tensor& a, const Tensor& b) { return binary("add", cpu::BinaryOp::Add, a, b); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary("sub", cpu::BinaryOp::Sub, a, b); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary("mul", cpu::BinaryOp::Mul, a, b); }

Tensor scale(const Tensor& x, double factor) {
  detail::check_same_device_dtype("scale", {x});
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  detail::run_kernel(
      x, [&]<typename T>() { cpu::scale(x.numel(), T(factor), x.data<T>(), y.data<T>()); },
      [&](const cuda::Kernels& k) { k.scale(x.numel(), static_cast<float>(factor), x.data<float>(), y.data<float>()); });
  return record("scale", {x}, y, [factor](const Tensor& g) { return std::vector<Tensor>{scale(g, factor)}; });
}

// An activation whose backward needs either its input or its output. The
// kernel pairs come from kernels/cpu/activation.h and the CUDA table.
using CudaUnary = void (*)(int64_t, const float*, float*);
using CudaUnaryBackward = void (*)(int64_t, const float*, const float*, float*);

template <typename Forward, typename Backward>
static Tensor activation(const char* name, const Tensor& x, bool backward_uses_output, Forward fwd, Backward bwd,
                         CudaUnary cuda::Kernels::*cuda_fwd, CudaUnaryBackward cuda::Kernels::*cuda_bwd) {
  detail::check_same_device_dtype(name, {x});
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  detail::run_kernel(
      x, [&]<typename T>() { fwd(x.numel(), x.data<T>(), y.data<T>()); },
      [&](const cuda::Kernels& k) { (k.*cuda_fwd)(x.numel(), x.data<float>(), y.data<float>()); });
  // Saving the output itself would make a cycle (output → node → output); a
  // detached view shares the memory without the graph.
  Tensor saved = backward_uses_output ? y.detach() : x;
  return record(name, {x}, y, [saved, bwd, cuda_bwd](const Tensor& g) {
    Tensor gx = Tensor::empty(g.shape(), g.dtype(), g.device());
    detail::run_kernel(
        g, [&]<typename T>() { bwd(g.numel(), saved.data<T>(), g.data<T>(), gx.data<T>()); },
        [&](const cuda::Kernels& k) { (k.*cuda_bwd)(g.numel(), saved.data<float>(), g.data<float>(), gx.data<float>()); });
    return std::vector<Tensor>{gx};
  });
}

#define GC_KERNEL_PAIR(name)                                                     \
  [](int64_t n, const auto* a, auto* b) { cpu::name##_forward(n, a, b); },       \
      [](int64_t n, const auto* s, const auto* g, auto* d) { cpu::name##_backward(n, s, g, d); }, \
      &cuda::Kernels::name##_forward, &cuda::Kernels::name##_backward

Tensor relu(const Tensor& x) { return activation("relu", x, false, GC_KERNEL_PAIR(relu)); }
Tensor tanh(const Tensor& x) { return activation("tanh", x, true, GC_KERNEL_PAIR(tanh)); }
Tensor sigmoid(const Tensor& x) { return activation("sigmoid", x, true, GC_KERNEL_PAIR(sigmoid)); }

#undef GC_KERNEL_PAIR

}  // namespace gc
