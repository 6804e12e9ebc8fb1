// Random test inputs with a fresh seed per test, printed on failure.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <string>

#include "engine/tensor.h"
#include "kernels/cpu/rng.h"

namespace gc::test {

// GRADCORE_TEST_SEED=<n> replays a failing case; otherwise a fresh seed.
inline uint64_t fresh_seed() {
  if (const char* s = std::getenv("GRADCORE_TEST_SEED")) return std::stoull(s);
  return (static_cast<uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}();
}

// Uniform in [lo, hi) (values with |x| < avoid are redrawn: keeps finite
// differences off the kinks of relu and max).
inline Tensor random_tensor(const Shape& shape, cpu::Rng& rng, DType dtype = DType::F64, double lo = -1,
                            double hi = 1, double avoid = 0) {
  Tensor t = Tensor::empty(shape, dtype);
  dispatch_dtype(dtype, [&]<typename T>() {
    T* p = t.data<T>();
    for (int64_t i = 0; i < t.numel(); ++i) {
      double v;
      do v = rng.uniform(lo, hi);
      while (std::abs(v) < avoid);
      p[i] = static_cast<T>(v);
    }
  });
  return t;
}

}  // namespace gc::test
