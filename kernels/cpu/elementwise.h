// Elementwise arithmetic: broadcasting binary ops over up-to-4-D shapes, the
// reduction that undoes a broadcast (for gradients), and BLAS-1 style helpers.
//
// Shapes are 4 sizes with leading 1s (a [B, N] matrix is {1, 1, B, N}).
// Strides are in elements; an operand broadcast along a dim has stride 0 there
// (a channel bias [1, C, 1, 1] read against NCHW output has strides {0, 1, 0, 0}).
#pragma once

#include <cstdint>

namespace gc::cpu {

enum class BinaryOp { Add, Sub, Mul };

struct Dims4 {
  int64_t d[4];
};

// out[i] = a[i] op b[i] over out_shape, out contiguous. Negative sizes throw.
// out may be the same buffer as a or b when that operand is contiguous with
// out_shape (in-place a += b); partial overlaps are not allowed.
template <typename T>
void binary_forward(BinaryOp op, const Dims4& out_shape, const T* a, const Dims4& a_strides,
                    const T* b, const Dims4& b_strides, T* out);

// Sums `in` (contiguous, in_shape) into `out` (contiguous, out_shape); each out
// dim equals the in dim (kept) or is 1 (summed over). Overwrites out.
// Deterministic whatever the thread count. A dim that is neither throws.
template <typename T>
void sum_to_shape(const Dims4& in_shape, const T* in, const Dims4& out_shape, T* out);

template <typename T> void scale(int64_t n, T alpha, const T* x, T* y);               // y = alpha·x
template <typename T> void axpy(int64_t n, T alpha, const T* x, T* y);                // y += alpha·x
template <typename T> void mul_elementwise(int64_t n, const T* a, const T* b, T* y);  // y = a·b

}  // namespace gc::cpu
