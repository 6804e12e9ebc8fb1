#include "kernels/cpu/reduce.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace gc::cpu {
namespace {

constexpr int64_t kBlock = 1024;
constexpr int kLanes = 16;
// The array is cut into at most kMaxChunks pieces (one per thread task) of
// at least kMinChunk elements; chunk sizes are a function of n alone.
constexpr int64_t kMaxChunks = 64;
constexpr int64_t kMinChunk = 1 << 15;

// kLanes independent accumulators: lane j sums x[j], x[j + 16], ... so the
// loop vectorises without reassociating any single sum.
template <typename T>
T block_sum(int64_t n, const T* x) {
  T lane[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) lane[j] += x[i + j];
  T tail = 0;
  for (; i < n; ++i) tail += x[i];
  for (int width = kLanes / 2; width > 0; width /= 2)
    for (int j = 0; j < width; ++j) lane[j] += lane[j + width];
  return lane[0] + tail;
}

// Split at a block boundary near the middle and recurse: a balanced tree of blocks.
template <typename T>
T pairwise_sum(int64_t n, const T* x) {
  if (n <= kBlock) return block_sum(n, x);
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  const int64_t left = (blocks / 2) * kBlock;
  return pairwise_sum(left, x) + pairwise_sum(n - left, x + left);
}

template <typename T>
T chunked_sum(int64_t n, const T* x, bool parallel) {
  if (n < 0) throw std::invalid_argument("sum: negative element count " + std::to_string(n));
  if (n <= kMinChunk) return pairwise_sum(n, x);
  // Chunk length: a multiple of kBlock, large enough for ≤ kMaxChunks chunks.
  int64_t chunk = std::max(kMinChunk, (n + kMaxChunks - 1) / kMaxChunks);
  chunk = (chunk + kBlock - 1) / kBlock * kBlock;
  const int64_t chunks = (n + chunk - 1) / chunk;
  T partial[kMaxChunks];
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t begin = c * chunk;
    partial[c] = pairwise_sum(std::min(chunk, n - begin), x + begin);
  }
  // Pairwise over the partials: stride 1, 2, 4, ... folds neighbours together.
  for (int64_t stride = 1; stride < chunks; stride *= 2)
    for (int64_t c = 0; c + stride < chunks; c += 2 * stride) partial[c] += partial[c + stride];
  return partial[0];
}

}  // namespace

template <typename T>
T sum(int64_t n, const T* x) {
  return chunked_sum(n, x, true);
}

template <typename T>
T sum_serial(int64_t n, const T* x) {
  return chunked_sum(n, x, false);
}

template float sum<float>(int64_t, const float*);
template double sum<double>(int64_t, const double*);
template float sum_serial<float>(int64_t, const float*);
template double sum_serial<double>(int64_t, const double*);

}  // namespace gc::cpu
