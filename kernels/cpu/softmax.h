// Log-softmax and fused softmax cross-entropy over rows × cols logits, row-major.
// Outputs may alias their inputs (in place): every row is read before it is written.
#pragma once

#include <cstdint>

namespace gc::cpu {

// y = x − max − log Σ_j exp(x_j − max), per row.
template <typename T>
void log_softmax_forward(int64_t rows, int64_t cols, const T* x, T* y);
// dx = dy − exp(y)·Σ_j dy_j, per row (y is the forward output). Overwrites dx.
template <typename T>
void log_softmax_backward(int64_t rows, int64_t cols, const T* y, const T* dy, T* dx);

// Mean over the batch of −log softmax(logits)[label]. Returns the loss and
// writes probs (rows × cols, the softmax) for the backward pass. A label
// outside [0, cols) throws std::invalid_argument naming the row and label.
// Stable for logits of ±1e4. Deterministic whatever the thread count.
template <typename T>
T softmax_cross_entropy_forward(int64_t rows, int64_t cols, const T* logits, const int32_t* labels,
                                T* probs);
// dlogits = dloss·(p − onehot(label))/rows. Overwrites dlogits.
template <typename T>
void softmax_cross_entropy_backward(int64_t rows, int64_t cols, const T* probs, const int32_t* labels,
                                    T dloss, T* dlogits);

}  // namespace gc::cpu
