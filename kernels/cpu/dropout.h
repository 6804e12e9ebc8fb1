// Inverted dropout: in training each element is kept with probability 1 − p
// and scaled by 1/(1 − p), so the expected output equals the input and
// evaluation needs no rescaling (eval mode simply skips the op).
#pragma once

#include <cstdint>

namespace gc::cpu {

// mask[i] = 0 or 1/(1 − p); y = x·mask. p in [0, 1] (p = 1 drops everything),
// otherwise std::invalid_argument. The keep decision for element i depends
// only on (seed, i) (counter-based, rng.h), so the mask is the same on every
// run and for every thread count.
template <typename T>
void dropout_forward(int64_t n, T p, uint64_t seed, const T* x, T* mask, T* y);
// dx = dy·mask. Overwrites dx.
template <typename T>
void dropout_backward(int64_t n, const T* mask, const T* dy, T* dx);

}  // namespace gc::cpu
