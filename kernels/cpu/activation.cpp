// Each loop body is branch-free (selects, not jumps) so GCC vectorises it;
// large arrays are split over OpenMP threads. Every element is computed
// independently, so results do not depend on the thread count.
#include "kernels/cpu/activation.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace gc::cpu {
namespace {

// Below this many elements a parallel region costs more than it saves.
constexpr int64_t kParallelMin = 1 << 15;
// tanh/exp are ~20x dearer than a select, so threads pay off sooner.
constexpr int64_t kParallelMinTranscendental = 1 << 12;

void check_length(const char* op, int64_t n) {
  if (n < 0) throw std::invalid_argument(std::string(op) + ": negative element count " + std::to_string(n));
}

}  // namespace

template <typename T>
void relu_forward(int64_t n, const T* x, T* y) {
  check_length("relu_forward", n);
  // `x < 0 ? 0 : x` rather than `x > 0 ? x : 0`: a NaN fails the comparison and passes through.
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] < T(0) ? T(0) : x[i];
}

template <typename T>
void relu_backward(int64_t n, const T* x, const T* dy, T* dx) {
  check_length("relu_backward", n);
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    const T d = dy[i];  // loaded unconditionally, so the select vectorises
    dx[i] = x[i] > T(0) ? d : T(0);
  }
}

template <typename T>
void tanh_forward(int64_t n, const T* x, T* y) {
  check_length("tanh_forward", n);
#pragma omp parallel for schedule(static) if (n >= kParallelMinTranscendental)
  for (int64_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
}

template <typename T>
void tanh_backward(int64_t n, const T* y, const T* dy, T* dx) {
  check_length("tanh_backward", n);
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * (T(1) - y[i] * y[i]);
}

template <typename T>
void sigmoid_forward(int64_t n, const T* x, T* y) {
  check_length("sigmoid_forward", n);
  // With e = exp(−|x|) ∈ (0, 1]:  σ(x) = 1/(1 + e) for x ≥ 0 and e/(1 + e) for x < 0.
  // exp never overflows, and σ(−1000) is a tiny positive number or 0, never 0/0.
#pragma omp parallel for schedule(static) if (n >= kParallelMinTranscendental)
  for (int64_t i = 0; i < n; ++i) {
    const T e = std::exp(-std::abs(x[i]));
    const T s = T(1) / (T(1) + e);
    y[i] = x[i] >= T(0) ? s : e * s;
  }
}

template <typename T>
void sigmoid_backward(int64_t n, const T* y, const T* dy, T* dx) {
  check_length("sigmoid_backward", n);
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * y[i] * (T(1) - y[i]);
}

#define GC_INSTANTIATE(T)                                                \
  template void relu_forward<T>(int64_t, const T*, T*);                  \
  template void relu_backward<T>(int64_t, const T*, const T*, T*);       \
  template void tanh_forward<T>(int64_t, const T*, T*);                  \
  template void tanh_backward<T>(int64_t, const T*, const T*, T*);       \
  template void sigmoid_forward<T>(int64_t, const T*, T*);               \
  template void sigmoid_backward<T>(int64_t, const T*, const T*, T*);
GC_INSTANTIATE(float)
GC_INSTANTIATE(double)
#undef GC_INSTANTIATE

}  // namespace gc::cpu
