// Broadcast kernels first simplify the shape: size-1 dims are dropped and
// neighbouring dims merged wherever every operand is contiguous across them,
// so a channel bias over NCHW becomes rows of H·W elements against one
// scalar each, and same-shape operands become one long vector. The innermost
// loop then runs over contiguous memory (or a broadcast scalar) and vectorises.
#include "kernels/cpu/elementwise.h"

#include <algorithm>
#include <functional>
#include <stdexcept>
#include <string>

#include "kernels/cpu/reduce.h"

namespace gc::cpu {
namespace {

constexpr int64_t kParallelMin = 1 << 15;
// Long rows are cut into pieces of this many elements so that even a single
// merged dimension spreads over the threads.
constexpr int64_t kChunk = 8192;

std::string shape_string(const Dims4& s) {
  return "[" + std::to_string(s.d[0]) + ", " + std::to_string(s.d[1]) + ", " +
         std::to_string(s.d[2]) + ", " + std::to_string(s.d[3]) + "]";
}

int64_t checked_count(const char* op, const char* what, const Dims4& shape) {
  int64_t total = 1;
  for (int64_t s : shape.d) {
    if (s < 0) throw std::invalid_argument(std::string(op) + ": " + what + " " + shape_string(shape) + " has a negative size");
    total *= s;
  }
  return total;
}

Dims4 contiguous_strides(const Dims4& shape) {
  Dims4 st{};
  int64_t s = 1;
  for (int d = 3; d >= 0; --d) {
    st.d[d] = s;
    s *= shape.d[d];
  }
  return st;
}

// A shape and K operands' strides over it, simplified (see the file comment).
// Dims stay ordered outer → inner, padded at the front with size 1, stride 0.
template <int K>
struct Layout {
  Dims4 size;
  Dims4 stride[K];
};

template <int K>
Layout<K> coalesce(const Dims4& shape, const Dims4 (&strides)[K]) {
  Layout<K> out{};
  for (int d = 0; d < 4; ++d) {
    out.size.d[d] = 1;
    for (int k = 0; k < K; ++k) out.stride[k].d[d] = 0;
  }
  int slot = 4;  // next free slot is slot − 1; filled from the inner end
  for (int d = 3; d >= 0; --d) {
    const int64_t n = shape.d[d];
    if (n == 1) continue;
    bool merge = slot < 4;
    // Dim d continues the current innermost group when, for every operand,
    // stepping once along d equals walking the whole group.
    for (int k = 0; k < K && merge; ++k)
      merge = strides[k].d[d] == out.stride[k].d[slot] * out.size.d[slot];
    if (merge) {
      out.size.d[slot] *= n;
      continue;
    }
    --slot;
    out.size.d[slot] = n;
    for (int k = 0; k < K; ++k) out.stride[k].d[slot] = strides[k].d[d];
  }
  return out;
}

// One row of out = a op b; the stride patterns that occur get a loop each.
template <typename T, typename Op>
void binary_row(int64_t n, const T* a, int64_t sa, const T* b, int64_t sb, T* out, Op op) {
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; ++i) out[i] = op(a[i], b[i]);
  } else if (sa == 1 && sb == 0) {
    const T bv = *b;
    for (int64_t i = 0; i < n; ++i) out[i] = op(a[i], bv);
  } else if (sa == 0 && sb == 1) {
    const T av = *a;
    for (int64_t i = 0; i < n; ++i) out[i] = op(av, b[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = op(a[i * sa], b[i * sb]);
  }
}

template <typename T, typename Op>
void binary_impl(const Layout<2>& L, int64_t total, const T* a, const T* b, T* out, Op op) {
  const int64_t n3 = L.size.d[3];
  const int64_t chunks_per_row = (n3 + kChunk - 1) / kChunk;
  const int64_t tasks = L.size.d[0] * L.size.d[1] * L.size.d[2] * chunks_per_row;
  const Dims4& as = L.stride[0];
  const Dims4& bs = L.stride[1];
#pragma omp parallel for schedule(static) if (total >= kParallelMin)
  for (int64_t t = 0; t < tasks; ++t) {
    const int64_t chunk = t % chunks_per_row;
    const int64_t row = t / chunks_per_row;
    const int64_t i2 = row % L.size.d[2];
    const int64_t i1 = (row / L.size.d[2]) % L.size.d[1];
    const int64_t i0 = row / (L.size.d[2] * L.size.d[1]);
    const int64_t j0 = chunk * kChunk;
    const int64_t len = std::min(kChunk, n3 - j0);
    const T* pa = a + i0 * as.d[0] + i1 * as.d[1] + i2 * as.d[2] + j0 * as.d[3];
    const T* pb = b + i0 * bs.d[0] + i1 * bs.d[1] + i2 * bs.d[2] + j0 * bs.d[3];
    binary_row(len, pa, as.d[3], pb, bs.d[3], out + row * n3 + j0, op);
  }
}

}  // namespace

template <typename T>
void binary_forward(BinaryOp op, const Dims4& out_shape, const T* a, const Dims4& a_strides,
                    const T* b, const Dims4& b_strides, T* out) {
  const int64_t total = checked_count("binary_forward", "output shape", out_shape);
  if (total == 0) return;
  if (!a || !b || !out) throw std::invalid_argument("binary_forward: null data pointer");
  // out's own strides join the coalescing so merged dims stay contiguous in out.
  const Dims4 all[3] = {a_strides, b_strides, contiguous_strides(out_shape)};
  const Layout<3> l3 = coalesce(out_shape, all);
  const Layout<2> L{l3.size, {l3.stride[0], l3.stride[1]}};
  switch (op) {
    case BinaryOp::Add: return binary_impl(L, total, a, b, out, std::plus<T>());
    case BinaryOp::Sub: return binary_impl(L, total, a, b, out, std::minus<T>());
    case BinaryOp::Mul: return binary_impl(L, total, a, b, out, std::multiplies<T>());
  }
  throw std::invalid_argument("binary_forward: unknown BinaryOp " + std::to_string(static_cast<int>(op)));
}

template <typename T>
void sum_to_shape(const Dims4& in_shape, const T* in, const Dims4& out_shape, T* out) {
  const int64_t in_total = checked_count("sum_to_shape", "input shape", in_shape);
  const int64_t out_total = checked_count("sum_to_shape", "output shape", out_shape);
  for (int d = 0; d < 4; ++d)
    if (out_shape.d[d] != in_shape.d[d] && out_shape.d[d] != 1)
      throw std::invalid_argument("sum_to_shape: cannot sum " + shape_string(in_shape) + " to " +
                                  shape_string(out_shape) + " (dim " + std::to_string(d) +
                                  " must match or be 1)");
  if (out_total == 0) return;
  if (!out) throw std::invalid_argument("sum_to_shape: null output pointer");
  if (in_total == 0) {  // every output is an empty sum
    std::fill(out, out + out_total, T(0));
    return;
  }
  if (!in) throw std::invalid_argument("sum_to_shape: null input pointer");
  // Read out through stride 0 along summed dims; after coalescing a dim of
  // size > 1 is summed exactly when its out stride is 0, and the summed and
  // kept dims alternate.
  Dims4 out_strides = contiguous_strides(out_shape);
  for (int d = 0; d < 4; ++d)
    if (out_shape.d[d] == 1) out_strides.d[d] = 0;
  const Dims4 all[2] = {contiguous_strides(in_shape), out_strides};
  const Layout<2> L = coalesce(in_shape, all);
  const Dims4& size = L.size;
  const Dims4& is = L.stride[0];
  bool kept[4];
  for (int d = 0; d < 4; ++d) kept[d] = L.stride[1].d[d] != 0;

  // A task owns one slot of the kept outer dims (out is contiguous over the
  // kept dims, so task rows are consecutive in out) and, when the inner dim
  // is kept, a chunk of it. It walks the summed outer dims in a fixed order,
  // so the result does not depend on the thread count.
  int64_t out_rows = 1;
  for (int d = 0; d < 3; ++d)
    if (kept[d]) out_rows *= size.d[d];
  const int64_t n3 = size.d[3];
  const int64_t chunks_per_row = kept[3] ? (n3 + kChunk - 1) / kChunk : 1;
  const int64_t tasks = out_rows * chunks_per_row;
  // With a single task (a full reduction) the threads go to sum() instead.
  if (tasks == 1 && !kept[3]) {
    out[0] = sum(in_total, in);
    return;
  }
#pragma omp parallel for schedule(static) if (in_total >= kParallelMin)
  for (int64_t t = 0; t < tasks; ++t) {
    const int64_t row = t / chunks_per_row;
    int64_t lo[3], hi[3];
    int64_t rest = row;
    for (int d = 2; d >= 0; --d) {
      if (kept[d]) {
        lo[d] = rest % size.d[d];
        hi[d] = lo[d] + 1;
        rest /= size.d[d];
      } else {
        lo[d] = 0;
        hi[d] = size.d[d];
      }
    }
    if (kept[3]) {
      const int64_t j0 = (t % chunks_per_row) * kChunk;
      const int64_t len = std::min(kChunk, n3 - j0);
      T* o = out + row * n3 + j0;
      std::fill(o, o + len, T(0));
      for (int64_t i0 = lo[0]; i0 < hi[0]; ++i0)
        for (int64_t i1 = lo[1]; i1 < hi[1]; ++i1)
          for (int64_t i2 = lo[2]; i2 < hi[2]; ++i2) {
            const T* src = in + i0 * is.d[0] + i1 * is.d[1] + i2 * is.d[2] + j0;
            for (int64_t j = 0; j < len; ++j) o[j] += src[j];
          }
    } else {
      T acc = 0;
      for (int64_t i0 = lo[0]; i0 < hi[0]; ++i0)
        for (int64_t i1 = lo[1]; i1 < hi[1]; ++i1)
          for (int64_t i2 = lo[2]; i2 < hi[2]; ++i2)
            acc += sum_serial(n3, in + i0 * is.d[0] + i1 * is.d[1] + i2 * is.d[2]);
      out[row] = acc;
    }
  }
}

template <typename T>
void scale(int64_t n, T alpha, const T* x, T* y) {
  if (n < 0) throw std::invalid_argument("scale: negative element count " + std::to_string(n));
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) y[i] = alpha * x[i];
}

template <typename T>
void axpy(int64_t n, T alpha, const T* x, T* y) {
  if (n < 0) throw std::invalid_argument("axpy: negative element count " + std::to_string(n));
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

template <typename T>
void mul_elementwise(int64_t n, const T* a, const T* b, T* y) {
  if (n < 0) throw std::invalid_argument("mul_elementwise: negative element count " + std::to_string(n));
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] * b[i];
}

#define GC_INSTANTIATE(T)                                                                     \
  template void binary_forward<T>(BinaryOp, const Dims4&, const T*, const Dims4&, const T*,   \
                                  const Dims4&, T*);                                          \
  template void sum_to_shape<T>(const Dims4&, const T*, const Dims4&, T*);                    \
  template void scale<T>(int64_t, T, const T*, T*);                                           \
  template void axpy<T>(int64_t, T, const T*, T*);                                            \
  template void mul_elementwise<T>(int64_t, const T*, const T*, T*);
GC_INSTANTIATE(float)
GC_INSTANTIATE(double)
#undef GC_INSTANTIATE

}  // namespace gc::cpu
