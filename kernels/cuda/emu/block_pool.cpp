#include "kernels/cuda/emu/block_pool.h"

#include <algorithm>
#include <cstdlib>

namespace gc::emu::detail {

BlockPool& BlockPool::instance() {
  static BlockPool pool([] {
    unsigned total = std::max(1u, std::thread::hardware_concurrency());
    if (const char* env = std::getenv("GRADCORE_EMU_THREADS")) {
      total = static_cast<unsigned>(std::clamp(std::atoi(env), 1, 256));
    }
    return total - 1;
  }());
  return pool;
}

BlockPool::BlockPool(unsigned helpers) {
  for (unsigned i = 0; i < helpers; ++i) helpers_.emplace_back([this] { helper_loop(); });
}

BlockPool::~BlockPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& helper : helpers_) helper.join();
}

void BlockPool::run_everywhere(const std::function<void()>& job) {
  {
    std::lock_guard lock(mutex_);
    job_ = &job;
    busy_ = static_cast<unsigned>(helpers_.size());
    ++generation_;
  }
  wake_.notify_all();
  job();
  std::unique_lock lock(mutex_);
  done_.wait(lock, [this] { return busy_ == 0; });
  job_ = nullptr;
}

void BlockPool::helper_loop() {
  std::uint64_t seen = 0;
  for (;;) {
    const std::function<void()>* job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      job = job_;
    }
    (*job)();
    std::lock_guard lock(mutex_);
    if (--busy_ == 0) done_.notify_one();
  }
}

}  // namespace gc::emu::detail
