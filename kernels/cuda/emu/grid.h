// Launching a kernel on the emulator, and choosing the order in which the
// threads of a block run between two barriers.
// Part of the CUDA emulator (see cuda_emu.h and docs/CUDA.md).
#pragma once

#include "kernels/cuda/emu/host_api.h"
#include "kernels/cuda/emu/types.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace gc::emu {

// inorder: threads by linear index (blocks too); reverse: the opposite;
// shuffle: a fresh seeded permutation of the threads at every barrier, and of
// the blocks. The default comes from GRADCORE_EMU_SCHEDULE
// (inorder | reverse | shuffle:<seed>), else inorder.
struct Schedule {
  enum class Order { inorder, reverse, shuffle } order = Order::inorder;
  std::uint64_t seed = 0;
};
// Parses "inorder", "reverse" or "shuffle:<seed>"; throws std::invalid_argument.
Schedule parse_schedule(std::string_view text);
std::string to_string(const Schedule& schedule);
Schedule current_schedule();
void set_schedule(const Schedule& schedule);  // for every later launch, from any thread

namespace detail {

// A type-erased call of the kernel with its arguments, made once per thread.
struct KernelCall {
  const void* kernel;  // identity, for cudaFuncSetAttribute limits
  const char* name;
  const void* object;
  void (*invoke)(const void* object);
};

cudaError_t run_grid(const KernelCall& call, dim3 grid, dim3 block, std::size_t dynamic_shared_bytes,
                     cudaStream_t stream);

}  // namespace detail

// Runs kernel<<<grid, block, dynamic_shared_bytes, stream>>>(args...) to
// completion on the host; returns the launch's error (also kept for
// cudaGetLastError, with a description in last_error_detail()).
template <typename... Params, typename... Args>
cudaError_t launch(void (*kernel)(Params...), const char* name, dim3 grid, dim3 block,
                   std::size_t dynamic_shared_bytes, cudaStream_t stream, Args&&... args) {
  static_assert(sizeof...(Params) == sizeof...(Args), "kernel launched with the wrong number of arguments");
  using Bound = std::pair<void (*)(Params...), std::tuple<std::decay_t<Params>...>>;
  const Bound bound{kernel, std::tuple<std::decay_t<Params>...>(std::forward<Args>(args)...)};
  const detail::KernelCall call{
      reinterpret_cast<const void*>(kernel), name, &bound, [](const void* object) {
        const auto& b = *static_cast<const Bound*>(object);
        std::apply(b.first, b.second);
      }};
  return detail::run_grid(call, grid, block, dynamic_shared_bytes, stream);
}

}  // namespace gc::emu
