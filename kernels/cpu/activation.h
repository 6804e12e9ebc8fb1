// Elementwise activations: forward and backward over n contiguous values.
// Backward functions overwrite dx (the caller accumulates if it needs to).
// NaN inputs propagate to the output rather than being silently clamped.
// Outputs may be the same buffer as an input (in place).
#pragma once

#include <cstdint>

namespace gc::cpu {

template <typename T> void relu_forward(int64_t n, const T* x, T* y);                     // y = max(x, 0)
template <typename T> void relu_backward(int64_t n, const T* x, const T* dy, T* dx);      // dx = dy·[x > 0]
template <typename T> void tanh_forward(int64_t n, const T* x, T* y);                     // y = tanh(x)
template <typename T> void tanh_backward(int64_t n, const T* y, const T* dy, T* dx);      // dx = dy·(1 − y²)
template <typename T> void sigmoid_forward(int64_t n, const T* x, T* y);                  // y = 1/(1 + e^−x), stable for |x| large
template <typename T> void sigmoid_backward(int64_t n, const T* y, const T* dy, T* dx);   // dx = dy·y·(1 − y)

}  // namespace gc::cpu
