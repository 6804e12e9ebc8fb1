// How the conv kernels split a batch over threads (kernels/cpu/image_chunks.h):
// every item is covered exactly once, in chunks of the asked size, by fixed
// shares or by chunks taken in turn, and a body's exception reaches the caller.
#include <gtest/gtest.h>
#include <omp.h>

#include <atomic>
#include <stdexcept>
#include <vector>

#include "kernels/cpu/image_chunks.h"

namespace gc::cpu::conv_detail {
namespace {

constexpr double kEnoughMacs = 1e9;  // above kParallelMinMacs: the threads run

// How many times each of n items was visited, and the chunk sizes seen.
struct Coverage {
  std::vector<std::atomic<int>> visits;
  std::atomic<int> bodies{0}, largest{0};
  explicit Coverage(int n) : visits(n) {}
  void record(int begin, int end) {
    ++bodies;
    for (int i = begin; i < end; ++i) ++visits[i];
    int size = end - begin, seen = largest.load();
    while (size > seen && !largest.compare_exchange_weak(seen, size)) {
    }
  }
};

TEST(ImageChunks, SharedChunksCoverEveryItemOnceInChunksOfTheAskedSize) {
  omp_set_num_threads(2);
  for (int n : {2, 7, 64, 65}) {
    for (int chunk : {1, 3, 8}) {
      Coverage c(n);
      std::atomic<bool> thread_ok{true};
      for_shared_chunks(n, chunk, kEnoughMacs, [&](int begin, int end, int thread) {
        if (thread < 0 || thread >= 2) thread_ok = false;
        c.record(begin, end);
      });
      for (int i = 0; i < n; ++i) EXPECT_EQ(c.visits[i].load(), 1) << "n " << n << " chunk " << chunk << " item " << i;
      EXPECT_EQ(c.bodies.load(), n <= chunk ? 1 : (n + chunk - 1) / chunk) << "n " << n << " chunk " << chunk;
      EXPECT_LE(c.largest.load(), n <= chunk ? n : chunk);
      EXPECT_TRUE(thread_ok);
    }
  }
}

TEST(ImageChunks, SmallPassesRunOnTheCallingThreadAsOneChunk) {
  omp_set_num_threads(2);
  Coverage c(10);
  for_shared_chunks(10, 2, /*macs=*/1.0, [&](int begin, int end, int thread) {
    EXPECT_EQ(thread, 0);
    EXPECT_FALSE(omp_in_parallel());
    c.record(begin, end);
  });
  EXPECT_EQ(c.bodies.load(), 1);
  EXPECT_EQ(c.largest.load(), 10);
}

TEST(ImageChunks, ABodysExceptionReachesTheCaller) {
  omp_set_num_threads(2);
  auto throwing = [](int begin, int, int) {
    if (begin == 0) throw std::runtime_error("chunk 0 failed");
  };
  EXPECT_THROW(for_shared_chunks(16, 2, kEnoughMacs, throwing), std::runtime_error);
  EXPECT_THROW(for_image_chunks(16, kEnoughMacs, throwing), std::runtime_error);
}

TEST(ImageChunks, FixedSharesCoverEveryItemOnce) {
  omp_set_num_threads(2);
  Coverage c(9);
  const int chunks = for_image_chunks(9, kEnoughMacs, [&](int begin, int end, int) { c.record(begin, end); });
  EXPECT_EQ(chunks, 2);
  for (int i = 0; i < 9; ++i) EXPECT_EQ(c.visits[i].load(), 1) << "item " << i;
}

}  // namespace
}  // namespace gc::cpu::conv_detail
