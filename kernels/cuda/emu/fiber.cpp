#include "kernels/cuda/emu/fiber.h"

#include "kernels/cuda/emu/types.h"

#include <sys/mman.h>
#include <unistd.h>

#include <new>
#include <utility>

#if defined(GC_EMU_RACECHECK)
#include <sanitizer/tsan_interface.h>
#endif
#if defined(GC_EMU_MEMCHECK)
#include <sanitizer/common_interface_defs.h>
#endif

namespace gc::emu::detail {

namespace fc = boost::context::detail;

Fiber::Fiber(std::function<void(Fiber&)> main, std::size_t stack_bytes) : main_(std::move(main)) {
  const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  stack_bytes_ = (stack_bytes + page - 1) / page * page;
  mapped_bytes_ = stack_bytes_ + page;
  mapping_ = mmap(nullptr, mapped_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapping_ == MAP_FAILED) throw std::bad_alloc();
  mprotect(mapping_, page, PROT_NONE);  // a stack overflow faults instead of corrupting memory
  stack_bottom_ = static_cast<char*>(mapping_) + page;
  context_ = fc::make_fcontext(stack_bottom_ + stack_bytes_, stack_bytes_, &Fiber::entry);
#if defined(GC_EMU_RACECHECK)
  tsan_fiber_ = __tsan_create_fiber(0);
#endif
}

Fiber::~Fiber() {
#if defined(GC_EMU_RACECHECK)
  __tsan_destroy_fiber(tsan_fiber_);
#endif
  munmap(mapping_, mapped_bytes_);
}

void Fiber::entry(fc::transfer_t from) {
  auto* self = static_cast<Fiber*>(from.data);
  self->caller_ = from.fctx;
  self->finish_switch_in();
  self->main_(*self);
  self->finished_ = true;
  self->switch_to_caller(true, true);  // never comes back
}

void Fiber::resume(bool synchronise) {
  const fc::fcontext_t target = context_;
#if defined(GC_EMU_RACECHECK)
  tsan_caller_.store(__tsan_get_current_fiber(), std::memory_order_relaxed);
  __tsan_switch_to_fiber(tsan_fiber_, synchronise ? 0 : __tsan_switch_to_fiber_no_sync);
#else
  (void)synchronise;
#endif
#if defined(GC_EMU_MEMCHECK)
  void* fake_stack = nullptr;
  __sanitizer_start_switch_fiber(&fake_stack, stack_bottom_, stack_bytes_);
#endif
  const fc::transfer_t back = fc::jump_fcontext(target, this);
#if defined(GC_EMU_MEMCHECK)
  __sanitizer_finish_switch_fiber(fake_stack, nullptr, nullptr);
#endif
  context_ = back.fctx;
}

void Fiber::suspend(bool synchronise) { switch_to_caller(synchronise, false); }

void Fiber::switch_to_caller(bool synchronise, bool final_switch) {
  const fc::fcontext_t target = caller_;
#if defined(GC_EMU_RACECHECK)
  __tsan_switch_to_fiber(tsan_caller_.load(std::memory_order_relaxed), synchronise ? 0 : __tsan_switch_to_fiber_no_sync);
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
  const fc::transfer_t back = fc::jump_fcontext(target, nullptr);
  caller_ = back.fctx;
  finish_switch_in();
}

void Fiber::finish_switch_in() {
#if defined(GC_EMU_MEMCHECK)
  __sanitizer_finish_switch_fiber(asan_fake_stack_, &caller_stack_bottom_, &caller_stack_size_);
#endif
}

}  // namespace gc::emu::detail
