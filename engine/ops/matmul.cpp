// matmul and linear over our SGEMM (kernels/cpu/gemm.h).
//   C = A·B:          ∂A = ∂C·Bᵀ,  ∂B = Aᵀ·∂C
//   y = x·Wᵀ + b:     ∂x = ∂y·W,   ∂W = ∂yᵀ·x,  ∂b = Σ_rows ∂y
#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/ops/common.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/gemm.h"

namespace gc {

// C[m,n] = op(A)·op(B) into a new tensor.
static Tensor gemm_new(bool ta, bool tb, const Tensor& a, const Tensor& b, int m, int n, int k) {
  Tensor c = Tensor::empty({m, n}, a.dtype(), a.device());
  int lda = static_cast<int>(a.dim(1)), ldb = static_cast<int>(b.dim(1));
  detail::run_kernel(
      a, [&]<typename T>() { cpu::gemm(ta, tb, m, n, k, T(1), a.data<T>(), lda, b.data<T>(), ldb, T(0), c.data<T>(), n); },
      [&](const cuda::Kernels& kk) {
        kk.sgemm(ta, tb, m, n, k, 1.f, a.data<float>(), lda, b.data<float>(), ldb, 0.f, c.data<float>(), n);
      });
  return c;
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  detail::check_same_device_dtype("matmul", {a, b});
  detail::check_rank("matmul", "a", a, 2);
  detail::check_rank("matmul", "b", b, 2);
  if (a.dim(1) != b.dim(0))
    throw_shape_error("matmul", "inner dimensions differ: a " + a.shape().str() + ", b " + b.shape().str());
  int m = static_cast<int>(a.dim(0)), k = static_cast<int>(a.dim(1)), n = static_cast<int>(b.dim(1));
  Tensor c = gemm_new(false, false, a, b, m, n, k);
  return record("matmul", {a, b}, c, [a, b, m, n, k](const Tensor& g) {
    Tensor ga, gb;
    if (detail::wants_grad(a)) ga = gemm_new(false, true, g, b, m, k, n);
    if (detail::wants_grad(b)) gb = gemm_new(true, false, a, g, k, n, m);
    return std::vector<Tensor>{ga, gb};
  });
}

// Σ over rows of a [rows, cols] tensor → [cols].
static Tensor column_sums(const Tensor& g) {
  Tensor out = Tensor::empty({g.dim(1)}, g.dtype(), g.device());
  cpu::Dims4 in_shape{{1, 1, g.dim(0), g.dim(1)}}, out_shape{{1, 1, 1, g.dim(1)}};
  detail::run_kernel(
      g, [&]<typename T>() { cpu::sum_to_shape(in_shape, g.data<T>(), out_shape, out.data<T>()); },
      [&](const cuda::Kernels& k) { k.sum_to_shape(in_shape, g.data<float>(), out_shape, out.data<float>()); });
  return out;
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  detail::check_same_device_dtype("linear", {x, weight, bias});
  detail::check_rank("linear", "input", x, 2);
  detail::check_rank("linear", "weight", weight, 2);
  if (x.dim(1) != weight.dim(1))
    throw_shape_error("linear", "input " + x.shape().str() + " does not fit weight " + weight.shape().str() +
                                    " (expected input [n, " + std::to_string(weight.dim(1)) + "])");
  if (bias.defined() && (bias.rank() != 1 || bias.dim(0) != weight.dim(0)))
    throw_shape_error("linear", "bias " + bias.shape().str() + " does not fit weight " + weight.shape().str());
  int n = static_cast<int>(x.dim(0)), in = static_cast<int>(x.dim(1)), out = static_cast<int>(weight.dim(0));

  // Start from the bias broadcast over rows, then y += x·Wᵀ.
  Tensor y = bias.defined() ? add(Tensor::zeros({n, out}, x.dtype(), x.device()), bias.detach())
                            : Tensor::empty({n, out}, x.dtype(), x.device());
  float beta = bias.defined() ? 1.f : 0.f;
  detail::run_kernel(
      x,
      [&]<typename T>() {
        cpu::gemm(false, true, n, out, in, T(1), x.data<T>(), in, weight.data<T>(), in, T(beta), y.data<T>(), out);
      },
      [&](const cuda::Kernels& k) {
        k.sgemm(false, true, n, out, in, 1.f, x.data<float>(), in, weight.data<float>(), in, beta, y.data<float>(), out);
      });
  return record("linear", {x, weight, bias}, y, [x, weight, bias, n, in, out](const Tensor& g) {
    Tensor gx, gw, gb;
    if (detail::wants_grad(x)) gx = gemm_new(false, false, g, weight, n, in, out);
    if (detail::wants_grad(weight)) gw = gemm_new(true, false, g, x, out, in, n);
    if (detail::wants_grad(bias)) gb = column_sums(g);
    return std::vector<Tensor>{gx, gw, gb};
  });
}

}  // namespace gc
