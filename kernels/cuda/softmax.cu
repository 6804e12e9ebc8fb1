// Log-softmax and fused softmax cross-entropy, forward and backward, as
// kernels/cpu/softmax.h. One warp per row (the rows here are class scores,
// 10 wide for MNIST): lanes take columns lane, lane + 32, ...; the row's max
// and sums are combined with a butterfly of __shfl_xor_sync, after which
// every lane holds the same value. As on the CPU the row is shifted by its
// max before exp (nothing overflows, logits of ±1e4 are fine) and a NaN
// anywhere in the row reaches every output.
//
// The cross-entropy loss: each row's −log p_label goes to a workspace
// array, then one block sums the rows in double (as the CPU does) in a fixed
// order; the loss and a bad-label flag come back in one copy.
#include "kernels/cuda/launch.h"

#include <cstring>
#include <stdexcept>
#include <string>

#include "kernels/cuda/backend.h"

namespace gc::cuda::GC_CUDA_NS {
namespace {

constexpr unsigned kFull = 0xffffffffu;
constexpr int kWarpsPerBlock = kBlock / 32;

// max that lets a NaN win, as the CPU's row_max.
__device__ __forceinline__ float nan_max(float a, float b) { return (b > a || b != b) ? b : a; }

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int offset = 16; offset > 0; offset /= 2) v = nan_max(v, __shfl_xor_sync(kFull, v, offset));
  return v;
}
__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(kFull, v, offset);
  return v;
}

// Rows handled by this warp: a grid-stride loop whose condition is the same
// for all 32 lanes, so every lane reaches every shuffle.
#define GC_FOR_EACH_ROW(r, rows)                                                                         \
  for (int64_t r = blockIdx.x * int64_t(kWarpsPerBlock) + threadIdx.x / 32; r < (rows);                \
       r += int64_t(gridDim.x) * kWarpsPerBlock)

// Row max and Σ exp(x − max) of a row.
__device__ __forceinline__ void row_stats(const float* xr, int64_t cols, int lane, float& m, float& s) {
  m = xr[0];
  for (int64_t j = lane; j < cols; j += 32) m = nan_max(m, xr[j]);
  m = warp_max(m);
  s = 0.0f;
  for (int64_t j = lane; j < cols; j += 32) s += expf(xr[j] - m);
  s = warp_sum(s);
}

__global__ void __launch_bounds__(kBlock) log_softmax_forward_kernel(int64_t rows, int64_t cols, const float* x,
                                                                     float* y) {
  const int lane = threadIdx.x % 32;
  GC_FOR_EACH_ROW(r, rows) {
    const float* xr = x + r * cols;
    float m, s;
    row_stats(xr, cols, lane, m, s);
    // y may be x: row_stats's shuffles come after every lane's reads of the row.
    const float log_sum = logf(s);
    for (int64_t j = lane; j < cols; j += 32) y[r * cols + j] = (xr[j] - m) - log_sum;
  }
}

__global__ void __launch_bounds__(kBlock) log_softmax_backward_kernel(int64_t rows, int64_t cols, const float* y,
                                                                      const float* dy, float* dx) {
  const int lane = threadIdx.x % 32;
  GC_FOR_EACH_ROW(r, rows) {
    float s = 0.0f;
    for (int64_t j = lane; j < cols; j += 32) s += dy[r * cols + j];
    s = warp_sum(s);
    for (int64_t j = lane; j < cols; j += 32) dx[r * cols + j] = dy[r * cols + j] - expf(y[r * cols + j]) * s;
  }
}

// probs = softmax(logits) per row; row_loss[r] = log Σ − (x_label − m). A
// label outside [0, cols) sets *bad and leaves the row's loss 0.
__global__ void __launch_bounds__(kBlock)
    softmax_xent_forward_kernel(int64_t rows, int64_t cols, const float* logits, const int32_t* __restrict__ labels,
                                float* probs, float* __restrict__ row_loss, int* __restrict__ bad) {
  const int lane = threadIdx.x % 32;
  GC_FOR_EACH_ROW(r, rows) {
    const float* xr = logits + r * cols;
    const int32_t label = labels[r];
    const bool valid = label >= 0 && label < cols;
    float m, s;
    row_stats(xr, cols, lane, m, s);
    const float label_logit = valid ? xr[label] : 0.0f;
    __syncwarp();  // the row is read before probs (which may be logits) is written
    const float inv_s = 1.0f / s;
    for (int64_t j = lane; j < cols; j += 32) probs[r * cols + j] = expf(xr[j] - m) * inv_s;
    if (lane == 0) {
      row_loss[r] = valid ? logf(s) - (label_logit - m) : 0.0f;
      if (!valid) atomicOr(bad, 1);
    }
  }
}

// *loss = Σ row_loss / rows, summed in double by one block in a fixed order.
__global__ void __launch_bounds__(kBlock) mean_loss_kernel(int64_t rows, const float* __restrict__ row_loss,
                                                           float* __restrict__ loss) {
  __shared__ double partial[kBlock];
  double s = 0.0;
  for (int64_t r = threadIdx.x; r < rows; r += kBlock) s += row_loss[r];
  partial[threadIdx.x] = s;
  __syncthreads();
  for (int half = kBlock / 2; half > 0; half /= 2) {
    if (int(threadIdx.x) < half) partial[threadIdx.x] += partial[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) *loss = static_cast<float>(partial[0] / static_cast<double>(rows));
}

__global__ void softmax_xent_backward_kernel(int64_t rows, int64_t cols, const float* probs,
                                             const int32_t* __restrict__ labels, float coef, float* dlogits) {
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < rows * cols;
       e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = e / cols, j = e % cols;
    dlogits[e] = coef * (probs[e] - (j == labels[r] ? 1.0f : 0.0f));
  }
}

#undef GC_FOR_EACH_ROW

void check_shape(const char* op, int64_t rows, int64_t cols) {
  if (rows < 0 || cols < 0)
    throw std::invalid_argument(std::string(op) + ": negative shape " + std::to_string(rows) + "x" +
                                std::to_string(cols));
}

unsigned row_grid(int64_t rows) {
  const int64_t blocks = (rows + kWarpsPerBlock - 1) / kWarpsPerBlock;
  return static_cast<unsigned>(blocks < kMaxBlocks ? blocks : kMaxBlocks);
}

// The loss workspace: [flag][loss][row losses...], 4 bytes each.
struct LossWorkspace {
  int* bad;
  float* loss;
  float* row_loss;
};
LossWorkspace loss_workspace(int64_t rows) {
  auto* base = static_cast<float*>(workspace(Workspace::loss, (2 + rows) * sizeof(float)));
  return {reinterpret_cast<int*>(base), base + 1, base + 2};
}

}  // namespace

void log_softmax_forward(int64_t rows, int64_t cols, const float* x, float* y) {
  check_shape("log_softmax_forward", rows, cols);
  if (rows && cols) GC_LAUNCH(log_softmax_forward_kernel, row_grid(rows), kBlock, 0, nullptr, rows, cols, x, y);
}

void log_softmax_backward(int64_t rows, int64_t cols, const float* y, const float* dy, float* dx) {
  check_shape("log_softmax_backward", rows, cols);
  if (rows && cols)
    GC_LAUNCH(log_softmax_backward_kernel, row_grid(rows), kBlock, 0, nullptr, rows, cols, y, dy, dx);
}

float softmax_cross_entropy_forward(int64_t rows, int64_t cols, const float* logits, const int32_t* labels,
                                    float* probs) {
  const char* op = "softmax_cross_entropy_forward";
  check_shape(op, rows, cols);
  if (rows == 0 || cols == 0)
    throw std::invalid_argument(std::string(op) + ": empty batch " + std::to_string(rows) + "x" +
                                std::to_string(cols) + " has no mean loss");
  const LossWorkspace ws = loss_workspace(rows);
  GC_CUDA_CHECK(cudaMemsetAsync(ws.bad, 0, sizeof(int), nullptr));
  GC_LAUNCH(softmax_xent_forward_kernel, row_grid(rows), kBlock, 0, nullptr, rows, cols, logits, labels, probs,
            ws.row_loss, ws.bad);
  GC_LAUNCH(mean_loss_kernel, 1, kBlock, 0, nullptr, rows, ws.row_loss, ws.loss);
  float head[2];  // the flag's bits and the loss
  copy_to_host(head, ws.bad, sizeof(head));
  int bad = 0;
  static_assert(sizeof(int) == sizeof(float));
  std::memcpy(&bad, &head[0], sizeof(int));
  if (bad) throw std::invalid_argument(std::string(op) + ": a label is outside [0, " + std::to_string(cols) + ")");
  return head[1];
}

void softmax_cross_entropy_backward(int64_t rows, int64_t cols, const float* probs, const int32_t* labels,
                                    float dloss, float* dlogits) {
  check_shape("softmax_cross_entropy_backward", rows, cols);
  if (rows == 0 || cols == 0) return;
  const float coef = dloss / static_cast<float>(rows);
  GC_LAUNCH(softmax_xent_backward_kernel, grid_for(rows * cols), kBlock, 0, nullptr, rows, cols, probs, labels, coef,
            dlogits);
}

}  // namespace gc::cuda::GC_CUDA_NS
