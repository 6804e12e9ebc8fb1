// A kernel launch: check the configuration like a GPU would, then run every
// block (side by side on the block pool, or one after another in the
// sanitizer modes) in the order the schedule chooses.
#include "kernels/cuda/emu/block.h"
#include "kernels/cuda/emu/block_pool.h"

#include <cstring>
#include <mutex>
#include <numeric>
#include <stdexcept>

namespace gc::emu::detail {
namespace {

std::string dims(dim3 d) {
  return "(" + std::to_string(d.x) + "," + std::to_string(d.y) + "," + std::to_string(d.z) + ")";
}

std::string check_configuration(const KernelCall& call, dim3 grid, dim3 block, std::size_t shared_bytes,
                                cudaError_t& error) {
  const std::string kernel = "launch of " + std::string(call.name) + "<<<" + dims(grid) + ", " + dims(block) + ", " +
                             std::to_string(shared_bytes) + ">>>: ";
  error = cudaErrorInvalidConfiguration;
  const unsigned long long threads = 1ull * block.x * block.y * block.z;
  if (threads == 0 || grid.x == 0 || grid.y == 0 || grid.z == 0) return kernel + "a dimension is zero";
  if (threads > kMaxThreadsPerBlock || block.x > kMaxThreadsPerBlock || block.y > kMaxThreadsPerBlock ||
      block.z > kMaxBlockDimZ) {
    return kernel + std::to_string(threads) + " threads per block; the limit is 1024 (x, y <= 1024, z <= 64)";
  }
  if (grid.x > 0x7fffffffu || grid.y > kMaxGridDimYZ || grid.z > kMaxGridDimYZ) {
    return kernel + "grid over the limit (x < 2^31, y and z <= 65535)";
  }
  error = cudaErrorInvalidValue;
  const std::size_t limit = max_dynamic_shared_bytes(call.kernel);
  if (shared_bytes > limit) {
    return kernel + std::to_string(shared_bytes) + " bytes of dynamic shared memory; this kernel's limit is " +
           std::to_string(limit) + " (raise it up to " + std::to_string(kMaxDynamicSharedBytesOptin) +
           " with cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes))";
  }
  error = cudaSuccess;
  return "";
}

// The i-th block to run under the schedule: a bijection of [0, count).
struct BlockOrder {
  std::uint64_t count, multiplier = 1, offset = 0;
  bool reverse = false;
  BlockOrder(const Schedule& schedule, std::uint64_t blocks) : count(blocks) {
    reverse = schedule.order == Schedule::Order::reverse;
    if (schedule.order == Schedule::Order::shuffle && count > 1) {
      std::uint64_t state = schedule.seed * 0x9E3779B97F4A7C15ull + 1;
      multiplier = state % count | 1;
      while (std::gcd(multiplier, count) != 1) multiplier += 2;
      offset = (state >> 17) % count;
    }
  }
  std::uint64_t operator()(std::uint64_t i) const {
    if (reverse) return count - 1 - i;
    return static_cast<std::uint64_t>((static_cast<unsigned __int128>(multiplier) * i + offset) % count);
  }
};

std::mutex launch_mutex;  // one grid at a time

}  // namespace

cudaError_t run_grid(const KernelCall& call, dim3 grid, dim3 block, std::size_t dynamic_shared_bytes,
                     cudaStream_t stream) {
  cudaError_t error = cudaSuccess;
  std::string problem = check_configuration(call, grid, block, dynamic_shared_bytes, error);
  if (!problem.empty()) return set_error(error, problem.c_str());
  if (!is_valid_stream(stream)) return set_error(cudaErrorInvalidResourceHandle, "launch on a destroyed stream");
  Schedule schedule;
  try {
    schedule = current_schedule();
  } catch (const std::invalid_argument& bad) {
    return set_error(cudaErrorInvalidValue, bad.what());
  }

  std::lock_guard launch_lock(launch_mutex);
  const std::uint64_t blocks = 1ull * grid.x * grid.y * grid.z;
  const BlockOrder order(schedule, blocks);
  std::atomic<std::uint64_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex failure_mutex;
  std::string failure;
  const std::function<void()> run_blocks = [&] {
    Worker& worker = Worker::this_thread();
    for (std::uint64_t i; !failed.load() && (i = next.fetch_add(1)) < blocks;) {
      const std::uint64_t linear = order(i);
      Block b;
      b.call = &call;
      b.index = {static_cast<unsigned>(linear % grid.x), static_cast<unsigned>(linear / grid.x % grid.y),
                 static_cast<unsigned>(linear / (1ull * grid.x * grid.y))};
      b.dim = block;
      b.grid = grid;
      b.threads = block.x * block.y * block.z;
      // Exactly the size asked for (memcheck bounds it); 0xff bytes read as
      // NaN, so a kernel that reads shared memory it never wrote shows it.
      b.dynamic_shared.reset(new std::byte[dynamic_shared_bytes]);
      std::memset(b.dynamic_shared.get(), 0xff, dynamic_shared_bytes);
      std::string misuse = worker.run(b, schedule, linear);
      if (!misuse.empty()) {
        std::lock_guard lock(failure_mutex);
        if (!failed.exchange(true)) failure = std::move(misuse);
      }
    }
  };
#if defined(GC_EMU_SERIAL_BLOCKS)
  run_blocks();
#else
  if (blocks == 1) {
    run_blocks();
  } else {
    BlockPool::instance().run_everywhere(run_blocks);
  }
#endif
  if (failed.load()) return set_error(cudaErrorLaunchFailure, failure.c_str());
  return cudaSuccess;
}

}  // namespace gc::emu::detail
