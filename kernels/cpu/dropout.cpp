#include "kernels/cpu/dropout.h"

#include <stdexcept>
#include <string>
#include <type_traits>

#include "kernels/cpu/rng.h"

namespace gc::cpu {
namespace {

constexpr int64_t kParallelMin = 1 << 14;

template <typename T>
T uniform_at(uint64_t seed, int64_t i) {
  const uint64_t bits = counter_bits(seed, static_cast<uint64_t>(i));
  if constexpr (std::is_same_v<T, float>) return uniform_float_from_bits(bits);
  else return static_cast<T>(uniform_double_from_bits(bits));
}

}  // namespace

template <typename T>
void dropout_forward(int64_t n, T p, uint64_t seed, const T* x, T* mask, T* y) {
  if (n < 0) throw std::invalid_argument("dropout_forward: negative element count " + std::to_string(n));
  if (!(p >= T(0) && p <= T(1)))  // also rejects NaN
    throw std::invalid_argument("dropout_forward: drop probability " + std::to_string(p) + " is outside [0, 1]");
  const T keep_scale = p < T(1) ? T(1) / (T(1) - p) : T(0);
  // u is uniform in [0, 1), so P(u ≥ p) = 1 − p; p = 0 keeps everything.
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    const bool keep = uniform_at<T>(seed, i) >= p;
    mask[i] = keep ? keep_scale : T(0);
    y[i] = keep ? x[i] * keep_scale : T(0);
  }
}

template <typename T>
void dropout_backward(int64_t n, const T* mask, const T* dy, T* dx) {
  if (n < 0) throw std::invalid_argument("dropout_backward: negative element count " + std::to_string(n));
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * mask[i];
}

template void dropout_forward<float>(int64_t, float, uint64_t, const float*, float*, float*);
template void dropout_forward<double>(int64_t, double, uint64_t, const double*, double*, double*);
template void dropout_backward<float>(int64_t, const float*, const float*, float*);
template void dropout_backward<double>(int64_t, const double*, const double*, double*);

}  // namespace gc::cpu
