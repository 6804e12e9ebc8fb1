// Kernels that probe the emulator's CUDA semantics (test_semantics.cpp
// checks what they write). Host wrappers take device pointers.
#include "kernels/cuda/launch.h"
#include "tests/cuda_emu/semantics.h"

namespace {

// out[6 * lane + j]: shfl from lane+3, shfl_up 1, shfl_down 2, xor 5, xor 5 in
// groups of 8, shfl from lane 1 of each group of 8. Value of lane l is 10 l.
__global__ void shuffles_kernel(int* out) {
  const int lane = threadIdx.x;
  const int value = 10 * lane;
  int* mine = out + 6 * lane;
  mine[0] = __shfl_sync(0xffffffffu, value, (lane + 3) % 32);
  mine[1] = __shfl_up_sync(0xffffffffu, value, 1);
  mine[2] = __shfl_down_sync(0xffffffffu, value, 2);
  mine[3] = __shfl_xor_sync(0xffffffffu, value, 5);
  mine[4] = __shfl_xor_sync(0xffffffffu, value, 5, 8);
  mine[5] = __shfl_sync(0xffffffffu, value, 1, 8);
}

__global__ void votes_kernel(unsigned* out) {
  const int lane = threadIdx.x;
  const unsigned ballot = __ballot_sync(0xffffffffu, lane % 3 == 0);
  const int any = __any_sync(0xffffffffu, lane == 31);
  const int all = __all_sync(0xffffffffu, lane < 32);
  const int not_all = __all_sync(0xffffffffu, lane < 31);
  unsigned half = 0;
  if (lane < 16) half = __ballot_sync(0x0000ffffu, lane % 2);  // only the lanes it names call it
  __syncwarp();
  if (lane == 0) {
    out[0] = ballot;
    out[1] = any;
    out[2] = all;
    out[3] = not_all;
    out[4] = half;
  }
}

__global__ void atomics_kernel(int* count, float* sum, int* maximum, unsigned* cas_count) {
  const int id = blockIdx.x * blockDim.x + threadIdx.x;
  atomicAdd(count, 1);
  atomicAdd(sum, 1.0f);
  atomicMax(maximum, id);
  unsigned seen = *cas_count, assumed;
  do {
    assumed = seen;
    seen = atomicCAS(cas_count, assumed, assumed + 1);
  } while (seen != assumed);
}

// Writes its index into dynamic shared memory, then reads its neighbour's.
__global__ void dynamic_shared_kernel(float* out) {
  float* shared = gc_dynamic_shared<float>();
  const unsigned t = threadIdx.x;
  shared[t] = static_cast<float>(t);
  __syncthreads();
  out[t] = shared[(t + 1) % blockDim.x];
}

// out[global linear thread id] = packed (block, thread) coordinates.
__global__ void indexing_kernel(int* out) {
  const unsigned block = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  const unsigned thread = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  const unsigned threads = blockDim.x * blockDim.y * blockDim.z;
  out[block * threads + thread] = gc::semantics::pack(blockIdx.x, blockIdx.y, blockIdx.z, threadIdx.x, threadIdx.y,
                                                      threadIdx.z);
}

__global__ void empty_kernel() {}

// Lanes 16..31 leave before a full-warp shuffle that names them.
__global__ void shuffle_after_exit_kernel(int* out) {
  if (threadIdx.x >= 16) return;
  out[threadIdx.x] = __shfl_sync(0xffffffffu, static_cast<int>(threadIdx.x), 0);
}

}  // namespace

namespace gc::semantics {

void shuffles(int* out) { GC_LAUNCH(shuffles_kernel, 1, 32, 0, nullptr, out); }
void votes(unsigned* out) { GC_LAUNCH(votes_kernel, 1, 32, 0, nullptr, out); }
void atomics(int* count, float* sum, int* maximum, unsigned* cas_count, int blocks, int threads) {
  GC_LAUNCH(atomics_kernel, blocks, threads, 0, nullptr, count, sum, maximum, cas_count);
}
void dynamic_shared(float* out, int threads) {
  GC_LAUNCH(dynamic_shared_kernel, 1, threads, threads * sizeof(float), nullptr, out);
}
cudaError_t dynamic_shared_raw(float* out, int threads, std::size_t bytes) {
  try {
    GC_LAUNCH(dynamic_shared_kernel, 1, threads, bytes, nullptr, out);
    return cudaSuccess;
  } catch (const gc::cuda::Error& error) {
    return error.code;
  }
}
cudaError_t allow_dynamic_shared(int bytes) {
  return cudaFuncSetAttribute(dynamic_shared_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
}
void indexing(int* out, dim3 grid, dim3 block) { GC_LAUNCH(indexing_kernel, grid, block, 0, nullptr, out); }
void empty(dim3 grid, dim3 block) { GC_LAUNCH(empty_kernel, grid, block, 0, nullptr); }
void shuffle_after_exit(int* out) { GC_LAUNCH(shuffle_after_exit_kernel, 1, 32, 0, nullptr, out); }

}  // namespace gc::semantics
