// Every row is shifted by its maximum before exp, so exp's argument is ≤ 0:
// nothing overflows, the largest term is exactly 1, and the log of the sum is
// finite even when other terms underflow to 0 (logits of ±1e4).
#include "kernels/cpu/softmax.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace gc::cpu {
namespace {

constexpr int64_t kParallelMin = 1 << 14;
// The loss is summed over at most this many row chunks, fixed by the shape,
// so the reduction order does not depend on the thread count.
constexpr int64_t kMaxLossChunks = 64;

void check_shape(const char* op, int64_t rows, int64_t cols) {
  if (rows < 0 || cols < 0)
    throw std::invalid_argument(std::string(op) + ": negative shape " + std::to_string(rows) + "x" +
                                std::to_string(cols));
}

void check_labels(const char* op, int64_t rows, int64_t cols, const int32_t* labels) {
  for (int64_t r = 0; r < rows; ++r)
    if (labels[r] < 0 || labels[r] >= cols)
      throw std::invalid_argument(std::string(op) + ": label " + std::to_string(labels[r]) + " at row " +
                                  std::to_string(r) + " is outside [0, " + std::to_string(cols) + ")");
}

// A NaN anywhere in the row makes the max NaN, so it reaches every output.
template <typename T>
T row_max(int64_t cols, const T* x) {
  T m = x[0];
  for (int64_t j = 1; j < cols; ++j) m = (x[j] > m || std::isnan(x[j])) ? x[j] : m;
  return m;
}

// Σ_j exp(x_j − m) (≥ 1 unless the row holds NaN).
template <typename T>
T row_sum_exp_shifted(int64_t cols, const T* x, T m) {
  T s = 0;
  for (int64_t j = 0; j < cols; ++j) s += std::exp(x[j] - m);
  return s;
}

// The same sum, also writing e_j = exp(x_j − m); e may alias x.
template <typename T>
T row_exp_shifted(int64_t cols, const T* x, T m, T* e) {
  T s = 0;
  for (int64_t j = 0; j < cols; ++j) {
    e[j] = std::exp(x[j] - m);
    s += e[j];
  }
  return s;
}

}  // namespace

template <typename T>
void log_softmax_forward(int64_t rows, int64_t cols, const T* x, T* y) {
  check_shape("log_softmax_forward", rows, cols);
  if (cols == 0) return;
#pragma omp parallel for schedule(static) if (rows * cols >= kParallelMin)
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * cols;
    T* yr = y + r * cols;
    const T m = row_max(cols, xr);
    // (x − m) − log Σ, not x − (m + log Σ): with |m| ≫ log Σ the sum m + log Σ
    // would round away log Σ's low bits (in float at m = −1e4, by ~4e-4).
    const T log_sum = std::log(row_sum_exp_shifted(cols, xr, m));
    for (int64_t j = 0; j < cols; ++j) yr[j] = (xr[j] - m) - log_sum;
  }
}

template <typename T>
void log_softmax_backward(int64_t rows, int64_t cols, const T* y, const T* dy, T* dx) {
  check_shape("log_softmax_backward", rows, cols);
#pragma omp parallel for schedule(static) if (rows * cols >= kParallelMin)
  for (int64_t r = 0; r < rows; ++r) {
    const T* yr = y + r * cols;
    const T* dyr = dy + r * cols;
    T* dxr = dx + r * cols;
    T dy_sum = 0;
    for (int64_t j = 0; j < cols; ++j) dy_sum += dyr[j];
    for (int64_t j = 0; j < cols; ++j) dxr[j] = dyr[j] - std::exp(yr[j]) * dy_sum;
  }
}

template <typename T>
T softmax_cross_entropy_forward(int64_t rows, int64_t cols, const T* logits, const int32_t* labels,
                                T* probs) {
  const char* op = "softmax_cross_entropy_forward";
  check_shape(op, rows, cols);
  if (rows == 0 || cols == 0)
    throw std::invalid_argument(std::string(op) + ": empty batch " + std::to_string(rows) + "x" +
                                std::to_string(cols) + " has no mean loss");
  check_labels(op, rows, cols, labels);

  const int64_t min_rows = std::max<int64_t>(1, kParallelMin / cols);
  const int64_t rows_per_chunk = std::max(min_rows, (rows + kMaxLossChunks - 1) / kMaxLossChunks);
  const int64_t chunks = (rows + rows_per_chunk - 1) / rows_per_chunk;
  double partial[kMaxLossChunks];
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int64_t c = 0; c < chunks; ++c) {
    double loss = 0;
    for (int64_t r = c * rows_per_chunk; r < std::min(rows, (c + 1) * rows_per_chunk); ++r) {
      const T* xr = logits + r * cols;
      T* pr = probs + r * cols;
      const T m = row_max(cols, xr);
      const T label_logit = xr[labels[r]];  // read before probs (which may alias logits) is written
      const T s = row_exp_shifted(cols, xr, m, pr);
      const T inv_s = T(1) / s;
      for (int64_t j = 0; j < cols; ++j) pr[j] *= inv_s;
      // −log p_label = log Σ_j exp(x_j − m) − (x_label − m), never −log(0).
      loss += static_cast<double>(std::log(s) - (label_logit - m));
    }
    partial[c] = loss;
  }
  double total = 0;
  for (int64_t c = 0; c < chunks; ++c) total += partial[c];
  return static_cast<T>(total / static_cast<double>(rows));
}

template <typename T>
void softmax_cross_entropy_backward(int64_t rows, int64_t cols, const T* probs, const int32_t* labels,
                                    T dloss, T* dlogits) {
  const char* op = "softmax_cross_entropy_backward";
  check_shape(op, rows, cols);
  if (rows == 0) return;
  check_labels(op, rows, cols, labels);
  const T coef = dloss / static_cast<T>(rows);
#pragma omp parallel for schedule(static) if (rows * cols >= kParallelMin)
  for (int64_t r = 0; r < rows; ++r) {
    const T* pr = probs + r * cols;
    T* dr = dlogits + r * cols;
    const int64_t label = labels[r];
    for (int64_t j = 0; j < cols; ++j) dr[j] = coef * (pr[j] - T(j == label));
  }
}

#define GC_INSTANTIATE(T)                                                                     \
  template void log_softmax_forward<T>(int64_t, int64_t, const T*, T*);                       \
  template void log_softmax_backward<T>(int64_t, int64_t, const T*, const T*, T*);            \
  template T softmax_cross_entropy_forward<T>(int64_t, int64_t, const T*, const int32_t*, T*); \
  template void softmax_cross_entropy_backward<T>(int64_t, int64_t, const T*, const int32_t*, T, T*);
GC_INSTANTIATE(float)
GC_INSTANTIATE(double)
#undef GC_INSTANTIATE

}  // namespace gc::cpu
