#include "kernels/cuda/emu/block.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <stdexcept>

#if defined(GC_EMU_RACECHECK)
#include <sanitizer/tsan_interface.h>
#define GC_EMU_RELEASE(address) __tsan_release(address)
#define GC_EMU_ACQUIRE(address) __tsan_acquire(address)
#else
#define GC_EMU_RELEASE(address) (void)(address)
#define GC_EMU_ACQUIRE(address) (void)(address)
#endif

namespace gc::emu::detail {
namespace {

constexpr auto relaxed = std::memory_order_relaxed;
constexpr unsigned kWarp = 32;
#if defined(GC_EMU_SERIAL_BLOCKS)
constexpr std::size_t kFiberStackBytes = 512 * 1024;  // sanitizers enlarge frames
#else
constexpr std::size_t kFiberStackBytes = 128 * 1024;
#endif

thread_local std::atomic<ThreadSlot*> running_slot{nullptr};

// Thrown inside a fiber to unwind its kernel when the block is abandoned.
struct Abort {};

const char* op_name(WarpOp op) {
  switch (op) {
    case WarpOp::syncwarp: return "__syncwarp";
    case WarpOp::shfl: return "__shfl_sync";
    case WarpOp::shfl_up: return "__shfl_up_sync";
    case WarpOp::shfl_down: return "__shfl_down_sync";
    case WarpOp::shfl_xor: return "__shfl_xor_sync";
    case WarpOp::ballot: return "__ballot_sync";
    case WarpOp::any: return "__any_sync";
    case WarpOp::all: return "__all_sync";
  }
  return "?";
}

std::string triple(unsigned x, unsigned y, unsigned z) {
  return "(" + std::to_string(x) + "," + std::to_string(y) + "," + std::to_string(z) + ")";
}

std::string hex(unsigned mask) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08x", mask);
  return text;
}

std::string where(const ThreadSlot& slot) {
  const char* file = slot.file.load(relaxed);
  std::string site = std::string(file ? file : "?") + ":" + std::to_string(slot.line.load(relaxed));
  if (slot.wait.load(relaxed) == Wait::barrier) return "__syncthreads (" + site + ")";
  return std::string(op_name(slot.op.load(relaxed))) + " (" + site + ") with mask " + hex(slot.mask.load(relaxed));
}

std::string thread_name(const ThreadSlot& slot) {
  const uint3 t = slot.coords.thread_idx;
  return "thread " + triple(t.x, t.y, t.z);
}

[[noreturn]] void fail(ThreadSlot& self, const std::string& what) {
  self.error = what;
  self.failed.store(true, relaxed);
  throw Abort{};
}

void record_site(ThreadSlot& self, const std::source_location& site) {
  self.file.store(site.file_name(), relaxed);
  self.line.store(site.line(), relaxed);
}

// Result of a warp call for `lane`, given the group's lanes (all in `mask`).
std::uint64_t warp_result(const ThreadSlot* warp, unsigned lane, WarpOp op, unsigned mask, int arg, int width) {
  const unsigned base = lane & ~static_cast<unsigned>(width - 1);
  const auto from = [&](long source) -> std::uint64_t {
    if (source < 0 || source >= kWarp || !(mask >> source & 1u)) return ~std::uint64_t{0};  // undefined on a GPU
    return warp[source].value.load(relaxed);
  };
  switch (op) {
    case WarpOp::syncwarp: return 0;
    case WarpOp::shfl: return from(base + ((arg % width) + width) % width);
    case WarpOp::shfl_up: {
      const long source = static_cast<long>(lane) - arg;
      return source < static_cast<long>(base) ? warp[lane].value.load(relaxed) : from(source);
    }
    case WarpOp::shfl_down: {
      const long source = static_cast<long>(lane) + arg;
      return source >= static_cast<long>(base) + width ? warp[lane].value.load(relaxed) : from(source);
    }
    case WarpOp::shfl_xor: {
      const long source = static_cast<long>(lane ^ static_cast<unsigned>(arg));
      return source >= static_cast<long>(base) + width ? warp[lane].value.load(relaxed) : from(source);
    }
    case WarpOp::ballot:
    case WarpOp::any:
    case WarpOp::all: {
      unsigned votes = 0;
      for (unsigned l = 0; l < kWarp; ++l) {
        if ((mask >> l & 1u) && warp[l].value.load(relaxed)) votes |= 1u << l;
      }
      if (op == WarpOp::ballot) return votes;
      if (op == WarpOp::any) return votes != 0;
      return votes == mask;
    }
  }
  return 0;
}

}  // namespace

ThreadSlot& current_slot() {
  ThreadSlot* slot = running_slot.load(relaxed);
  if (!slot) throw std::logic_error("CUDA emulator: a device-only call was made outside a kernel");
  return *slot;
}

const ThreadCoords& coords_outside_kernel() {
  throw std::logic_error("CUDA emulator: threadIdx/blockIdx/blockDim/gridDim used outside a kernel");
}

void* dynamic_shared() { return current_slot().block->dynamic_shared.get(); }

void sync_threads(const std::source_location& site) {
  ThreadSlot& self = current_slot();
  Block& block = *self.block;
  char* token = &block.barrier_token[block.barrier_generation.load(relaxed) % 2];
  record_site(self, site);
  self.wait.store(Wait::barrier, relaxed);
  GC_EMU_RELEASE(token);
  self.fiber->suspend(false);
  if (block.aborting.load(relaxed)) throw Abort{};
  GC_EMU_ACQUIRE(token);
}

std::uint64_t warp_call(WarpOp op, unsigned mask, std::uint64_t value, int arg, int width,
                        const std::source_location& site) {
  ThreadSlot& self = current_slot();
  Block& block = *self.block;
  const unsigned lane = self.linear % kWarp;
  record_site(self, site);
  self.op.store(op, relaxed);
  self.mask.store(mask, relaxed);
  if (width < 1 || width > static_cast<int>(kWarp) || !std::has_single_bit(static_cast<unsigned>(width))) {
    fail(self, std::string(op_name(op)) + " (" + site.file_name() + ":" + std::to_string(site.line()) +
                   ") has width " + std::to_string(width) + "; it must be a power of two up to 32");
  }
  if (!(mask >> lane & 1u)) {
    fail(self, std::string(op_name(op)) + " (" + site.file_name() + ":" + std::to_string(site.line()) +
                   ") with mask " + hex(mask) + " is called by lane " + std::to_string(lane) +
                   ", which the mask does not name");
  }
  const unsigned warp = self.linear / kWarp;
  char* token = &block.warp_tokens[2 * warp + block.warp_generation[warp].load(relaxed) % 2];
  self.value.store(value, relaxed);
  self.arg.store(arg, relaxed);
  self.width.store(width, relaxed);
  self.wait.store(Wait::warp, relaxed);
  GC_EMU_RELEASE(token);
  self.fiber->suspend(false);
  if (block.aborting.load(relaxed)) throw Abort{};
  GC_EMU_ACQUIRE(token);
  return self.result.load(relaxed);
}

Worker& Worker::this_thread() {
  static thread_local Worker worker;
  return worker;
}

Worker::~Worker() {
  quitting_ = true;
  for (auto& fiber : fibers_) fiber->resume(true);  // each returns from its loop
}

void Worker::prepare(Block& block) {
  if (block.threads > capacity_) {
    slots_ = std::make_unique<ThreadSlot[]>(block.threads);
    capacity_ = block.threads;
  }
  while (fibers_.size() < block.threads) {
    const std::size_t index = fibers_.size();
    fibers_.push_back(std::make_unique<Fiber>(
        [this, index](Fiber& self) {
          while (!quitting_) {
            ThreadSlot& slot = slots_[index];
            try {
              if (!block_->aborting.load(relaxed)) call_->invoke(call_->object);
            } catch (const Abort&) {
            } catch (const std::exception& error) {
              slot.error = std::string("exception in kernel: ") + error.what();
              slot.failed.store(true, relaxed);
            }
            slot.wait.store(Wait::exited, relaxed);
            GC_EMU_RELEASE(&block_->end_token);
            self.suspend(false);
          }
        },
        kFiberStackBytes));
  }
  call_ = block.call;
  block_ = &block;
  const unsigned warps = (block.threads + kWarp - 1) / kWarp;
  block.warp_generation = std::make_unique<std::atomic<unsigned>[]>(warps);
  block.warp_tokens = std::make_unique<char[]>(2 * warps);
  for (unsigned t = 0; t < block.threads; ++t) {
    ThreadSlot& slot = slots_[t];
    slot.coords = {{t % block.dim.x, t / block.dim.x % block.dim.y, t / (block.dim.x * block.dim.y)},
                   block.index, block.dim, block.grid};
    slot.linear = t;
    slot.block = &block;
    slot.fiber = fibers_[t].get();
    slot.error.clear();
    slot.failed.store(false, relaxed);
    slot.wait.store(Wait::running, relaxed);
  }
}

void Worker::resume(ThreadSlot& slot, bool first) {
  running_slot.store(&slot, relaxed);
  current_coords.store(&slot.coords, relaxed);
  slot.fiber->resume(first);
  running_slot.store(nullptr, relaxed);
  current_coords.store(nullptr, relaxed);
}

std::string Worker::describe(const Block& block, const ThreadSlot& slot) const {
  return "kernel " + std::string(block.call->name) + " block " + triple(block.index.x, block.index.y, block.index.z) +
         " " + thread_name(slot);
}

// Every thread still inside the kernel is resumed once to unwind it.
void Worker::abort_block(Block& block) {
  block.aborting.store(true, relaxed);
  for (unsigned t = 0; t < block.threads; ++t) {
    if (slots_[t].wait.load(relaxed) != Wait::exited) resume(slots_[t], false);
  }
  GC_EMU_ACQUIRE(&block.end_token);
}

std::string Worker::run(Block& block, const Schedule& schedule, std::uint64_t block_linear) {
  prepare(block);
  std::mt19937_64 random(schedule.seed ^ (block_linear * 0x9E3779B97F4A7C15ull));
  std::vector<unsigned> runnable(block.threads);
  for (unsigned t = 0; t < block.threads; ++t) runnable[t] = t;
  bool first_round = true;
  for (;;) {
    std::sort(runnable.begin(), runnable.end());
    if (schedule.order == Schedule::Order::reverse) std::reverse(runnable.begin(), runnable.end());
    if (schedule.order == Schedule::Order::shuffle) std::shuffle(runnable.begin(), runnable.end(), random);
    for (unsigned t : runnable) {
      resume(slots_[t], first_round);
      if (slots_[t].failed.load(relaxed)) {
        GC_EMU_ACQUIRE(&block.end_token);  // the failing thread has exited
        std::string message = describe(block, slots_[t]) + ": " + slots_[t].error;
        abort_block(block);
        return message;
      }
    }
    first_round = false;
    runnable.clear();
    bool progress = false;
    std::string misuse = resolve_warps(block, runnable, progress);
    if (misuse.empty() && !progress) misuse = check_barrier(block, runnable);
    if (!misuse.empty()) {
      abort_block(block);
      return misuse;
    }
    if (runnable.empty()) {  // every thread exited
      GC_EMU_ACQUIRE(&block.end_token);
      return "";
    }
  }
}

// Completes every warp call whose mask names only lanes waiting at the same
// call with the same mask; a mask naming an exited or missing lane is misuse.
std::string Worker::resolve_warps(Block& block, std::vector<unsigned>& runnable, bool& progress) {
  const unsigned warps = (block.threads + kWarp - 1) / kWarp;
  for (unsigned w = 0; w < warps; ++w) {
    ThreadSlot* warp = &slots_[w * kWarp];
    const unsigned lanes = std::min(kWarp, block.threads - w * kWarp);
    unsigned completed = 0;
    for (unsigned lane = 0; lane < lanes; ++lane) {
      if ((completed >> lane & 1u) || warp[lane].wait.load(relaxed) != Wait::warp) continue;
      const WarpOp op = warp[lane].op.load(relaxed);
      const unsigned mask = warp[lane].mask.load(relaxed);
      bool complete = true;
      for (unsigned other = 0; other < kWarp; ++other) {
        if (!(mask >> other & 1u)) continue;
        if (other >= lanes) {
          return describe(block, warp[lane]) + ": " + where(warp[lane]) + " names lane " + std::to_string(other) +
                 ", which does not exist (the block has " + std::to_string(block.threads) + " threads)";
        }
        const Wait state = warp[other].wait.load(relaxed);
        if (state == Wait::exited) {
          return describe(block, warp[lane]) + ": " + where(warp[lane]) + " names lane " + std::to_string(other) +
                 " (" + thread_name(warp[other]) +
                 "), which exited without arriving";
        }
        if (state != Wait::warp || warp[other].op.load(relaxed) != op || warp[other].mask.load(relaxed) != mask) {
          complete = false;
        }
      }
      if (!complete) continue;
      for (unsigned other = 0; other < lanes; ++other) {
        if (!(mask >> other & 1u)) continue;
        warp[other].result.store(warp_result(warp, other, op, mask, warp[other].arg.load(relaxed),
                                             warp[other].width.load(relaxed)),
                                 relaxed);
      }
      for (unsigned other = 0; other < lanes; ++other) {
        if (!(mask >> other & 1u)) continue;
        warp[other].wait.store(Wait::running, relaxed);
        runnable.push_back(w * kWarp + other);
      }
      completed |= mask;
      block.warp_generation[w].fetch_add(1, relaxed);
      progress = true;
    }
  }
  return "";
}

// Nothing else can move: either every thread waits at the same
// __syncthreads (release them all), or the block is stuck.
std::string Worker::check_barrier(Block& block, std::vector<unsigned>& runnable) {
  const ThreadSlot* at_barrier = nullptr;
  const ThreadSlot* exited = nullptr;
  const ThreadSlot* stuck_warp = nullptr;
  for (unsigned t = 0; t < block.threads; ++t) {
    const Wait state = slots_[t].wait.load(relaxed);
    if (state == Wait::barrier && !at_barrier) at_barrier = &slots_[t];
    if (state == Wait::exited && !exited) exited = &slots_[t];
    if (state == Wait::warp && !stuck_warp) stuck_warp = &slots_[t];
  }
  if (!at_barrier && !stuck_warp) return "";  // all exited
  if (stuck_warp) {
    const unsigned warp_base = stuck_warp->linear / kWarp * kWarp;
    const unsigned mask = stuck_warp->mask.load(relaxed);
    for (unsigned other = 0; other < kWarp; ++other) {
      const ThreadSlot& peer = slots_[warp_base + other];
      if (!(mask >> other & 1u) || peer.wait.load(relaxed) != Wait::barrier) continue;
      return describe(block, *stuck_warp) + ": " + where(*stuck_warp) + " waits for lane " + std::to_string(other) +
             ", which never arrives: it waits at " + where(peer);
    }
    return describe(block, *stuck_warp) + ": " + where(*stuck_warp) +
           " never completes: the lanes it names wait at different warp calls or masks";
  }
  if (exited) {
    return describe(block, *at_barrier) + ": " + where(*at_barrier) + " is never reached by " +
           thread_name(*exited) +
           ", which exited (a barrier in divergent code)";
  }
  for (unsigned t = 0; t < block.threads; ++t) {
    const ThreadSlot& slot = slots_[t];
    if (slot.line.load(relaxed) != at_barrier->line.load(relaxed) ||
        std::string_view(slot.file.load(relaxed)) != at_barrier->file.load(relaxed)) {
      return describe(block, *at_barrier) + ": waits at " + where(*at_barrier) + " while " +
             thread_name(slot) + " waits at " + where(slot) +
             " (a barrier in divergent code)";
    }
  }
  block.barrier_generation.fetch_add(1, relaxed);
  for (unsigned t = 0; t < block.threads; ++t) {
    slots_[t].wait.store(Wait::running, relaxed);
    runnable.push_back(t);
  }
  return "";
}

}  // namespace gc::emu::detail
