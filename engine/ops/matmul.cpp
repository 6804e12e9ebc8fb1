// matmul and linear over our SGEMM (kernels/cpu/gemm.h).
//   C = A·B:          ∂A = ∂C·Bᵀ,  ∂B = Aᵀ·∂C
//   y = x·Wᵀ + b:     ∂x = ∂y·W,   ∂W = ∂yᵀ·x,  ∂b = Σ_rows ∂y
#include <algorithm>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/ops/common.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/gemm.h"

namespace gc {

// C[m,n] = op(A)·op(B) into a new tensor.
static Tensor gemm_new(bool ta, bool tb, const Tensor& a, const Tensor& b, int m, int n, int k) {
  Tensor c = Tensor::empty({m, n}, a.dtype());
  int lda = static_cast<int>(a.dim(1)), ldb = static_cast<int>(b.dim(1));
  dispatch_dtype(a.dtype(), [&]<typename T>() {
    cpu::gemm(ta, tb, m, n, k, T(1), a.data<T>(), lda, b.data<T>(), ldb, T(0), c.data<T>(), n);
  });
  return c;
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  detail::check_cpu_same_dtype("matmul", {a, b});
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
  Tensor out = Tensor::empty({g.dim(1)}, g.dtype());
  dispatch_dtype(g.dtype(), [&]<typename T>() {
    cpu::sum_to_shape(cpu::Dims4{{1, 1, g.dim(0), g.dim(1)}}, g.data<T>(),
                      cpu::Dims4{{1, 1, 1, g.dim(1)}}, out.data<T>());
  });
  return out;
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  detail::check_cpu_same_dtype("linear", {x, weight, bias});
  detail::check_rank("linear", "input", x, 2);
  detail::check_rank("linear", "weight", weight, 2);
  if (x.dim(1) != weight.dim(1))
    throw_shape_error("linear", "input " + x.shape().str() + " does not fit weight " + weight.shape().str() +
                                    " (expected input [n, " + std::to_string(weight.dim(1)) + "])");
  if (bias.defined() && (bias.rank() != 1 || bias.dim(0) != weight.dim(0)))
    throw_shape_error("linear", "bias " + bias.shape().str() + " does not fit weight " + weight.shape().str());
  int n = static_cast<int>(x.dim(0)), in = static_cast<int>(x.dim(1)), out = static_cast<int>(weight.dim(0));

  Tensor y = Tensor::empty({n, out}, x.dtype());
  dispatch_dtype(x.dtype(), [&]<typename T>() {
    T* py = y.data<T>();
    T beta = 0;
    if (bias.defined()) {  // start from the bias broadcast over rows, then y += x·Wᵀ
      for (int r = 0; r < n; ++r) std::copy_n(bias.data<T>(), out, py + static_cast<int64_t>(r) * out);
      beta = 1;
    }
    cpu::gemm(false, true, n, out, in, T(1), x.data<T>(), in, weight.data<T>(), in, beta, py, out);
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
