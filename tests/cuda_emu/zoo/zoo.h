// The zoo: deliberately broken CUDA kernels, each beside its correct twin,
// that the emulator must catch (tests/cuda_emu/CMakeLists.txt says how each
// one is caught). Host functions take device pointers and throw
// gc::cuda::Error when a launch fails.
#pragma once

namespace gc::zoo {

// out (cols x rows) = transpose of in (rows x cols), through a shared tile.
void transpose_tiled(const float* in, float* out, int rows, int cols);
void transpose_missing_sync(const float* in, float* out, int rows, int cols);  // no barrier after the tile write

// c (m x n) = a (m x k) * b (k x n), row-major, 16 x 16 shared tiles.
void sgemm_tiled(const float* a, const float* b, float* c, int m, int n, int k);
void sgemm_missing_sync(const float* a, const float* b, float* c, int m, int n, int k);  // no barrier after the products

// out[w] = sum of in[32 w .. 32 w + 31] by warp shuffles; n is a multiple of 32.
void warp_sum(const float* in, float* out, int n);
void warp_sum_wrong_offset(const float* in, float* out, int n);  // starts at offset 8: misses half the lanes
void warp_sum_wrong_mask(const float* in, float* out, int n);    // mask 0x0000ffff, called by all 32 lanes

// out[i] = 2 in[i] for i < n.
void scale_guarded(const float* in, float* out, int n);
void scale_off_by_one(const float* in, float* out, int n);  // guard i <= n

// *out = sum of in[0 .. n); partial holds one float per 256-element block.
void sum_two_launches(const float* in, float* partial, float* out, int n);
void sum_reads_other_blocks(const float* in, float* partial, float* out, int n);  // last block reads the others' partials

// out[b] = sum of in[256 b .. 256 b + 255] by a shared-memory tree.
void block_sum(const float* in, float* out, int blocks);
void block_sum_divergent_barrier(const float* in, float* out, int blocks);  // __syncthreads inside `if (tid < s)`

}  // namespace gc::zoo
