// A cooperative fiber that tells ThreadSanitizer and AddressSanitizer about
// every switch, so that racecheck sees each emulated CUDA thread as its own
// thread and memcheck follows the stacks. The switch itself is boost.context's
// jump_fcontext (assembly): no instrumented code may run between announcing
// a switch to a sanitizer and making it.
// Part of the CUDA emulator (see cuda_emu.h and docs/CUDA.md).
#pragma once

#include <boost/context/detail/fcontext.hpp>

#include <atomic>
#include <cstddef>
#include <functional>

namespace gc::emu::detail {

class Fiber {
 public:
  // `main` runs on the fiber's own stack at the first resume(); the fiber is
  // finished when it returns. It must return before the Fiber is destroyed.
  Fiber(std::function<void(Fiber&)> main, std::size_t stack_bytes);
  ~Fiber();
  Fiber(const Fiber&) = delete;
  Fiber& operator=(const Fiber&) = delete;

  // From the scheduler: run the fiber until it suspends or finishes.
  // `synchronise` makes the switch a happens-before edge for
  // ThreadSanitizer (the scheduler's past becomes the fiber's).
  void resume(bool synchronise);
  // From inside the fiber: return to the scheduler. `synchronise` makes the
  // fiber's past the scheduler's.
  void suspend(bool synchronise);
  bool finished() const { return finished_; }

 private:
  static void entry(boost::context::detail::transfer_t from);
  void switch_to_caller(bool synchronise, bool final_switch);
  void finish_switch_in();

  std::function<void(Fiber&)> main_;
  std::size_t mapped_bytes_ = 0;  // guard page + stack
  void* mapping_ = nullptr;
  char* stack_bottom_ = nullptr;
  std::size_t stack_bytes_ = 0;
  boost::context::detail::fcontext_t context_ = nullptr;  // the fiber, while suspended (scheduler's field)
  boost::context::detail::fcontext_t caller_ = nullptr;   // the scheduler, while the fiber runs (fiber's field)
  bool finished_ = false;
  void* tsan_fiber_ = nullptr;
  std::atomic<void*> tsan_caller_{nullptr};  // written by the scheduler, read by the fiber
  void* asan_fake_stack_ = nullptr;
  const void* caller_stack_bottom_ = nullptr;
  std::size_t caller_stack_size_ = 0;
};

}  // namespace gc::emu::detail
