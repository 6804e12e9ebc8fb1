#include "kernels/cpu/dropout.h"

#include <stdexcept>
#include <string>
#include <type_traits>

#include "kernels/cpu/rng.h"

namespace gc::cpu {
namespace {

constexpr int64_t kParallelMin = 1 << 14;

// Uniform in [0, 1) from splitmix64 bits: 24 bits for float, 53 for double.
template <typename T>
T uniform_from_bits(uint64_t bits) {
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
  // Element i draws u_i = counter_bits(seed, i) as a uniform in [0, 1) and is
  // kept when u_i ≥ p, which happens with probability 1 − p (always at p = 0).
  const uint64_t key = counter_key(seed);
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    const T u = uniform_from_bits<T>(counter_bits_from_key(key, static_cast<uint64_t>(i)));
    const T m = u >= p ? keep_scale : T(0);
    mask[i] = m;
    y[i] = x[i] * m;
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
