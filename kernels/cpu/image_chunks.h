// Internal to the conv2d kernels (conv2d.cpp, conv2d_winograd.cpp,
// conv2d_pool.cpp): how a batch is split over OpenMP threads (in fixed
// shares, or in chunks taken in turn), and the per-thread scratch buffers.
#pragma once

#include <omp.h>

#include <cstddef>
#include <exception>
#include <vector>

namespace gc::cpu::conv_detail {

// Below this many multiply-adds a pass runs on the calling thread: waking a
// second thread costs more than it saves (and much more when the machine is
// oversubscribed).
constexpr double kParallelMinMacs = 1 << 18;

// A buffer per thread and Slot that only ever grows, so steady-state calls
// allocate nothing. Each caller keeps its own slot numbers (conv2d.cpp 0-3,
// conv2d_winograd.cpp 10-15, conv2d_pool.cpp 20-21,
// conv2d_packed.cpp 22), so no two users of one
// buffer can overlap.
template <typename T, int Slot>
T* scratch(std::ptrdiff_t count) {
  thread_local std::vector<T> buffer;
  if (std::ptrdiff_t(buffer.size()) < count) buffer.resize(count);
  return buffer.data();
}

// Runs body(begin, end, thread) over contiguous image chunks, one per OpenMP
// thread, and returns the number of chunks. With fewer images than threads,
// little work (macs) or when already inside a parallel region it runs one
// chunk on the calling thread, leaving the threads to the GEMM. An exception
// thrown by body is rethrown here, after the parallel region.
template <typename Body>
int for_image_chunks(int n, double macs, Body&& body) {
  const int threads = omp_get_max_threads();
  if (n < threads || threads == 1 || macs < kParallelMinMacs || omp_in_parallel()) {
    body(0, n, 0);
    return 1;
  }
  std::vector<std::exception_ptr> errors(threads);
  int chunks = threads;
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
#pragma omp single
    chunks = nt;
    const int begin = int(std::ptrdiff_t(n) * t / nt), end = int(std::ptrdiff_t(n) * (t + 1) / nt);
    try {
      body(begin, end, t);
    } catch (...) {
      errors[t] = std::current_exception();
    }
  }
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  return chunks;
}

// Runs body(begin, end, thread) over [0, n) in chunks of `chunk` items that
// the threads take in turn as they finish, so a thread slowed by another
// process on its core (a server's clients, say) runs fewer chunks instead of
// holding up the pass. Only for passes whose results do not depend on which
// thread ran a chunk. Runs on the calling thread alone when for_image_chunks
// would; an exception thrown by body is rethrown here.
template <typename Body>
void for_shared_chunks(int n, int chunk, double macs, Body&& body) {
  const int threads = omp_get_max_threads(), chunks = (n + chunk - 1) / chunk;
  if (chunks < 2 || threads == 1 || macs < kParallelMinMacs || omp_in_parallel()) {
    body(0, n, 0);
    return;
  }
  std::vector<std::exception_ptr> errors(threads);
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
#pragma omp for schedule(dynamic, 1)
    for (int c = 0; c < chunks; ++c) {
      if (errors[t]) continue;
      try {
        body(c * chunk, c * chunk + chunk < n ? c * chunk + chunk : n, t);
      } catch (...) {
        errors[t] = std::current_exception();
      }
    }
  }
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace gc::cpu::conv_detail
