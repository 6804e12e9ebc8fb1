// CUDA's qualifiers and built-in vector types for the host compiler.
// Part of the CUDA emulator (see cuda_emu.h and docs/CUDA.md).
#pragma once

#include <cstddef>

// Which emulator mode this translation unit is built in. The sanitizer modes
// run the blocks of a grid one after another on the calling thread.
#if defined(__SANITIZE_THREAD__)
#define GC_EMU_RACECHECK 1
#endif
#if defined(__SANITIZE_ADDRESS__)
#define GC_EMU_MEMCHECK 1
#endif
#if defined(GC_EMU_RACECHECK) || defined(GC_EMU_MEMCHECK)
#define GC_EMU_SERIAL_BLOCKS 1
#endif

// Kernel code can test for the emulator (there is no __CUDA_ARCH__ here).
#define GC_CUDA_EMU 1

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __align__(n) __attribute__((aligned(n)))
#define __launch_bounds__(...)
// __restrict__ is understood by g++ and clang++ as it is.

// Shared memory: one copy per block. A block runs all its threads on one host
// thread, and a host thread runs one block at a time, so a function-scope
// static per host thread is exactly one array per running block. The
// sanitizer modes run blocks one after another on one host thread and use a
// plain static, which AddressSanitizer surrounds with redzones. Contents left
// by a previous block are undefined, as on a GPU. Dynamic shared memory goes
// through gc_dynamic_shared<T>() in kernels/cuda/launch.h, never through
// `extern __shared__` (which does not compile here).
#if defined(GC_EMU_SERIAL_BLOCKS)
#define __shared__ static
#else
#define __shared__ static thread_local
#endif

struct uint3 {
  unsigned x, y, z;
};

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
  constexpr operator uint3() const { return {x, y, z}; }
};

struct __align__(8) float2 { float x, y; };
struct __align__(16) float4 { float x, y, z, w; };
struct __align__(8) int2 { int x, y; };
struct __align__(16) int4 { int x, y, z, w; };

constexpr float2 make_float2(float x, float y) { return {x, y}; }
constexpr float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
constexpr int2 make_int2(int x, int y) { return {x, y}; }
constexpr int4 make_int4(int x, int y, int z, int w) { return {x, y, z, w}; }
constexpr uint3 make_uint3(unsigned x, unsigned y, unsigned z) { return {x, y, z}; }

constexpr int warpSize = 32;
