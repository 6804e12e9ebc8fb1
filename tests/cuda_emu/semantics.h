// Probes of the emulator's CUDA semantics (semantics.cu), for test_semantics.cpp.
#pragma once

#include "kernels/cuda/launch.h"

#include <cstddef>

namespace gc::semantics {

__host__ __device__ constexpr int pack(unsigned bx, unsigned by, unsigned bz, unsigned tx, unsigned ty, unsigned tz) {
  return static_cast<int>(bx | by << 4 | bz << 8 | tx << 12 | ty << 16 | tz << 20);
}

void shuffles(int* out);     // 32 x 6 ints
void votes(unsigned* out);   // 5 values
void atomics(int* count, float* sum, int* maximum, unsigned* cas_count, int blocks, int threads);
void dynamic_shared(float* out, int threads);
cudaError_t dynamic_shared_raw(float* out, int threads, std::size_t bytes);  // unchecked launch
cudaError_t allow_dynamic_shared(int bytes);
void indexing(int* out, dim3 grid, dim3 block);
void empty(dim3 grid, dim3 block);
void shuffle_after_exit(int* out);

}  // namespace gc::semantics
