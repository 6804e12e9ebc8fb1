// Running one block: its threads as fibers, switched only at barriers and
// warp-level calls, in the order the schedule chooses.
// Part of the CUDA emulator (see cuda_emu.h and docs/CUDA.md).
#pragma once

#include "kernels/cuda/emu/device.h"
#include "kernels/cuda/emu/fiber.h"
#include "kernels/cuda/emu/grid.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace gc::emu::detail {

enum class Wait : std::uint8_t { running, barrier, warp, exited };

struct Block;

// One emulated thread. The fields after `error` are exchanged between the
// fiber and the scheduler across switches that ThreadSanitizer must not see
// as synchronisation, so they are relaxed atomics.
struct ThreadSlot {
  ThreadCoords coords{};
  unsigned linear = 0;
  Block* block = nullptr;
  Fiber* fiber = nullptr;
  std::string error;  // misuse found by this thread; read once `failed` is set
  std::atomic<bool> failed{false};
  std::atomic<Wait> wait{Wait::running};
  std::atomic<WarpOp> op{WarpOp::syncwarp};
  std::atomic<unsigned> mask{0};
  std::atomic<int> arg{0};
  std::atomic<int> width{32};
  std::atomic<std::uint64_t> value{0};
  std::atomic<std::uint64_t> result{0};
  std::atomic<const char*> file{nullptr};
  std::atomic<unsigned> line{0};
};

struct Block {
  const KernelCall* call = nullptr;
  uint3 index{};
  dim3 dim;
  dim3 grid;
  unsigned threads = 0;
  std::unique_ptr<std::byte[]> dynamic_shared;
  std::atomic<bool> aborting{false};
  std::atomic<unsigned> barrier_generation{0};
  std::unique_ptr<std::atomic<unsigned>[]> warp_generation;
  // Addresses ThreadSanitizer synchronises on: two per barrier kind, used by
  // alternate generations so a thread that ran ahead to the next barrier
  // does not hand its newer writes to threads still leaving this one.
  char barrier_token[2] = {};
  // Each thread releases here when it exits and the scheduler acquires once
  // the whole block is done: threads of one block stay unordered, blocks
  // (and the host's later work) are ordered after them.
  char end_token = 0;
  std::unique_ptr<char[]> warp_tokens;
};

// The fibers and thread slots of one host thread, reused from block to block.
class Worker {
 public:
  static Worker& this_thread();
  ~Worker();
  // Runs the block to completion; returns "" or a description of the misuse.
  std::string run(Block& block, const Schedule& schedule, std::uint64_t block_linear);

 private:
  void prepare(Block& block);
  void resume(ThreadSlot& slot, bool first);
  void abort_block(Block& block);
  std::string resolve_warps(Block& block, std::vector<unsigned>& runnable, bool& progress);
  std::string check_barrier(Block& block, std::vector<unsigned>& runnable);
  std::string describe(const Block& block, const ThreadSlot& slot) const;

  std::vector<std::unique_ptr<Fiber>> fibers_;
  std::unique_ptr<ThreadSlot[]> slots_;
  unsigned capacity_ = 0;
  const KernelCall* call_ = nullptr;
  Block* block_ = nullptr;
  bool quitting_ = false;
};

// The slot of the emulated thread now running on this host thread.
ThreadSlot& current_slot();

}  // namespace gc::emu::detail
