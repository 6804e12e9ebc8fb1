// Device-side CUDA for the host compiler: thread coordinates, barriers, warp
// shuffles and votes, atomics and math intrinsics.
// Part of the CUDA emulator (see cuda_emu.h and docs/CUDA.md).
#pragma once

#include "kernels/cuda/emu/types.h"

#include <math.h>

#include <atomic>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <source_location>
#include <type_traits>

namespace gc::emu::detail {

// Where the emulated thread running on this host thread is. The scheduler
// sets the pointer before every switch into a thread's fiber; it is atomic
// only so that ThreadSanitizer sees no race on it between fibers.
struct ThreadCoords {
  uint3 thread_idx;
  uint3 block_idx;
  dim3 block_dim;
  dim3 grid_dim;
};
inline thread_local std::atomic<const ThreadCoords*> current_coords{nullptr};
const ThreadCoords& coords_outside_kernel();  // throws: threadIdx outside a kernel

inline const ThreadCoords& coords() {
  const ThreadCoords* c = current_coords.load(std::memory_order_relaxed);
  return c ? *c : coords_outside_kernel();
}

enum class WarpOp : std::uint8_t { syncwarp, shfl, shfl_up, shfl_down, shfl_xor, ballot, any, all };

// Implemented by the scheduler: each suspends the calling fiber until the
// barrier or warp call completes, or reports misuse and ends the launch.
void sync_threads(const std::source_location& site);
std::uint64_t warp_call(WarpOp op, unsigned mask, std::uint64_t value, int arg, int width,
                        const std::source_location& site);
void* dynamic_shared();

template <typename T>
std::uint64_t to_bits(T value) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8, "warp calls move values of at most 8 bytes");
  std::uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof(T));
  return bits;
}
template <typename T>
T from_bits(std::uint64_t bits) {
  T value;
  std::memcpy(&value, &bits, sizeof(T));
  return value;
}

}  // namespace gc::emu::detail

#define threadIdx (::gc::emu::detail::coords().thread_idx)
#define blockIdx (::gc::emu::detail::coords().block_idx)
#define blockDim (::gc::emu::detail::coords().block_dim)
#define gridDim (::gc::emu::detail::coords().grid_dim)

#define GC_EMU_SITE const std::source_location& site = std::source_location::current()

// ---- barriers and warp-level calls (the only points where threads switch) --
inline void __syncthreads(GC_EMU_SITE) { ::gc::emu::detail::sync_threads(site); }
inline void __syncwarp(unsigned mask = 0xffffffffu, GC_EMU_SITE) {
  ::gc::emu::detail::warp_call(::gc::emu::detail::WarpOp::syncwarp, mask, 0, 0, warpSize, site);
}

template <typename T>
T __shfl_sync(unsigned mask, T var, int src_lane, int width = warpSize, GC_EMU_SITE) {
  using namespace ::gc::emu::detail;
  return from_bits<T>(warp_call(WarpOp::shfl, mask, to_bits(var), src_lane, width, site));
}
template <typename T>
T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = warpSize, GC_EMU_SITE) {
  using namespace ::gc::emu::detail;
  return from_bits<T>(warp_call(WarpOp::shfl_up, mask, to_bits(var), static_cast<int>(delta), width, site));
}
template <typename T>
T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = warpSize, GC_EMU_SITE) {
  using namespace ::gc::emu::detail;
  return from_bits<T>(warp_call(WarpOp::shfl_down, mask, to_bits(var), static_cast<int>(delta), width, site));
}
template <typename T>
T __shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = warpSize, GC_EMU_SITE) {
  using namespace ::gc::emu::detail;
  return from_bits<T>(warp_call(WarpOp::shfl_xor, mask, to_bits(var), lane_mask, width, site));
}
inline unsigned __ballot_sync(unsigned mask, int predicate, GC_EMU_SITE) {
  using namespace ::gc::emu::detail;
  return static_cast<unsigned>(warp_call(WarpOp::ballot, mask, predicate != 0, 0, warpSize, site));
}
inline int __any_sync(unsigned mask, int predicate, GC_EMU_SITE) {
  using namespace ::gc::emu::detail;
  return static_cast<int>(warp_call(WarpOp::any, mask, predicate != 0, 0, warpSize, site));
}
inline int __all_sync(unsigned mask, int predicate, GC_EMU_SITE) {
  using namespace ::gc::emu::detail;
  return static_cast<int>(warp_call(WarpOp::all, mask, predicate != 0, 0, warpSize, site));
}

inline void __threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }
inline void __threadfence_block() { std::atomic_thread_fence(std::memory_order_seq_cst); }

// ---- atomics: relaxed, like CUDA's ---------------------------------------
namespace gc::emu::detail {
template <typename T, typename Update>
T atomic_update(T* address, Update update) {
  std::atomic_ref<T> ref(*address);
  T old = ref.load(std::memory_order_relaxed);
  while (!ref.compare_exchange_weak(old, update(old), std::memory_order_relaxed)) {
  }
  return old;
}
}  // namespace gc::emu::detail

template <typename T>
  requires std::is_integral_v<T>
T atomicAdd(T* address, T value) {
  return std::atomic_ref<T>(*address).fetch_add(value, std::memory_order_relaxed);
}
inline float atomicAdd(float* address, float value) {
  return ::gc::emu::detail::atomic_update(address, [value](float old) { return old + value; });
}
inline double atomicAdd(double* address, double value) {
  return ::gc::emu::detail::atomic_update(address, [value](double old) { return old + value; });
}
template <typename T>
  requires std::is_integral_v<T>
T atomicSub(T* address, T value) {
  return std::atomic_ref<T>(*address).fetch_sub(value, std::memory_order_relaxed);
}
template <typename T>
T atomicExch(T* address, T value) {
  return std::atomic_ref<T>(*address).exchange(value, std::memory_order_relaxed);
}
template <typename T>
  requires std::is_integral_v<T>
T atomicMax(T* address, T value) {
  return ::gc::emu::detail::atomic_update(address, [value](T old) { return old < value ? value : old; });
}
template <typename T>
  requires std::is_integral_v<T>
T atomicMin(T* address, T value) {
  return ::gc::emu::detail::atomic_update(address, [value](T old) { return value < old ? value : old; });
}
template <typename T>
  requires std::is_integral_v<T>
T atomicCAS(T* address, T compare, T value) {
  std::atomic_ref<T>(*address).compare_exchange_strong(compare, value, std::memory_order_relaxed);
  return compare;
}
template <typename T>
  requires std::is_integral_v<T>
T atomicAnd(T* address, T value) {
  return std::atomic_ref<T>(*address).fetch_and(value, std::memory_order_relaxed);
}
template <typename T>
  requires std::is_integral_v<T>
T atomicOr(T* address, T value) {
  return std::atomic_ref<T>(*address).fetch_or(value, std::memory_order_relaxed);
}

// ---- loads, bit tricks and math intrinsics --------------------------------
template <typename T>
T __ldg(const T* address) {
  return *address;
}
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz(static_cast<unsigned>(x)); }
inline float __int_as_float(int x) { return std::bit_cast<float>(x); }
inline int __float_as_int(float x) { return std::bit_cast<int>(x); }
inline float __uint_as_float(unsigned x) { return std::bit_cast<float>(x); }
inline unsigned __float_as_uint(float x) { return std::bit_cast<unsigned>(x); }

inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __powf(float x, float y) { return std::pow(x, y); }
inline float __sinf(float x) { return std::sin(x); }
inline float __cosf(float x) { return std::cos(x); }
inline float __tanhf(float x) { return std::tanh(x); }
inline float __fdividef(float x, float y) { return x / y; }
inline float __frcp_rn(float x) { return 1.0f / x; }
inline float __fsqrt_rn(float x) { return std::sqrt(x); }
inline float __fmaf_rn(float x, float y, float z) { return std::fma(x, y, z); }
inline float __fmul_rn(float x, float y) { return x * y; }
inline float __fadd_rn(float x, float y) { return x + y; }
inline float __saturatef(float x) { return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x); }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
// expf, logf, sqrtf, fmaf, fmaxf, fminf, fabsf, tanhf, ... come from <math.h>.

// CUDA's overloaded min/max for device code.
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a < b ? b : a; }
inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
inline unsigned max(unsigned a, unsigned b) { return a < b ? b : a; }
inline float min(float a, float b) { return std::fmin(a, b); }
inline float max(float a, float b) { return std::fmax(a, b); }
