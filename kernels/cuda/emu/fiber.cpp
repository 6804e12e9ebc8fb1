#include "kernels/cuda/emu/fiber.h"

#include "kernels/cuda/emu/types.h"

#include <boost/context/protected_fixedsize_stack.hpp>

#include <memory>
#include <utility>

#if defined(GC_EMU_RACECHECK)
#include <sanitizer/tsan_interface.h>
#endif
#if defined(GC_EMU_MEMCHECK)
#include <sanitizer/common_interface_defs.h>
#endif

namespace gc::emu::detail {
namespace {

namespace ctx = boost::context;

// A guard-paged stack that also tells the Fiber where it lies (for ASan).
struct RecordingStack {
  std::size_t bytes;
  ctx::stack_context* record;
  ctx::stack_context allocate() {
    *record = ctx::protected_fixedsize_stack(bytes).allocate();
    return *record;
  }
  void deallocate(ctx::stack_context& stack) noexcept { ctx::protected_fixedsize_stack(bytes).deallocate(stack); }
};

}  // namespace

Fiber::Fiber(std::function<void(Fiber&)> main, std::size_t stack_bytes) : main_(std::move(main)) {
#if defined(GC_EMU_RACECHECK)
  tsan_fiber_ = __tsan_create_fiber(0);
#endif
  context_ = ctx::fiber(std::allocator_arg, RecordingStack{stack_bytes, &stack_}, [this](ctx::fiber&& caller) {
    caller_ = std::move(caller);
    finish_switch_in();
    main_(*this);
    finished_ = true;
    announce_switch_to_caller(true, true);
    return std::move(caller_);
  });
}

Fiber::~Fiber() {
#if defined(GC_EMU_RACECHECK)
  __tsan_destroy_fiber(tsan_fiber_);
#endif
}

void Fiber::resume(bool synchronise) {
#if defined(GC_EMU_RACECHECK)
  tsan_caller_ = __tsan_get_current_fiber();
  __tsan_switch_to_fiber(tsan_fiber_, synchronise ? 0 : __tsan_switch_to_fiber_no_sync);
#else
  (void)synchronise;
#endif
#if defined(GC_EMU_MEMCHECK)
  void* fake_stack = nullptr;
  __sanitizer_start_switch_fiber(&fake_stack, static_cast<char*>(stack_.sp) - stack_.size, stack_.size);
#endif
  context_ = std::move(context_).resume();
#if defined(GC_EMU_MEMCHECK)
  __sanitizer_finish_switch_fiber(fake_stack, nullptr, nullptr);
#endif
}

void Fiber::suspend(bool synchronise) {
  announce_switch_to_caller(synchronise, false);
  caller_ = std::move(caller_).resume();
  finish_switch_in();
}

void Fiber::announce_switch_to_caller(bool synchronise, bool final_switch) {
#if defined(GC_EMU_RACECHECK)
  __tsan_switch_to_fiber(tsan_caller_, synchronise ? 0 : __tsan_switch_to_fiber_no_sync);
#else
  (void)synchronise;
#endif
#if defined(GC_EMU_MEMCHECK)
  // A final switch passes no fake-stack slot, so ASan frees this stack's.
  __sanitizer_start_switch_fiber(final_switch ? nullptr : &asan_fake_stack_, caller_stack_bottom_,
                                 caller_stack_size_);
#else
  (void)final_switch;
#endif
}

void Fiber::finish_switch_in() {
#if defined(GC_EMU_MEMCHECK)
  __sanitizer_finish_switch_fiber(asan_fake_stack_, &caller_stack_bottom_, &caller_stack_size_);
#endif
}

}  // namespace gc::emu::detail
