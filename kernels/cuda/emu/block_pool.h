// Host threads that run the blocks of a grid side by side (plain mode).
// Part of the CUDA emulator (see cuda_emu.h and docs/CUDA.md).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace gc::emu::detail {

class BlockPool {
 public:
  // GRADCORE_EMU_THREADS host threads in all (the caller included), else one
  // per hardware thread.
  static BlockPool& instance();
  ~BlockPool();

  // Runs `job` on every pool thread and on the caller; returns when all are done.
  void run_everywhere(const std::function<void()>& job);

 private:
  explicit BlockPool(unsigned helpers);
  void helper_loop();

  std::vector<std::thread> helpers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const std::function<void()>* job_ = nullptr;
  std::uint64_t generation_ = 0;
  unsigned busy_ = 0;
  bool stopping_ = false;
};

}  // namespace gc::emu::detail
