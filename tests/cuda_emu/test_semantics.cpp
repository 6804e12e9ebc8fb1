// The emulator's own CUDA semantics: shuffle and vote results, atomics under
// contention, dynamic shared memory, 3-D indexing, launch limits, misuse
// errors and the host API's checks. Registered once per schedule.
#include "tests/cuda_emu/semantics.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace {

template <typename T>
struct DeviceArray {
  explicit DeviceArray(std::size_t n, T fill = T{}) : size(n) {
    std::vector<T> init(n, fill);
    GC_CUDA_CHECK(cudaMalloc(&data, n * sizeof(T)));
    GC_CUDA_CHECK(cudaMemcpy(data, init.data(), n * sizeof(T), cudaMemcpyHostToDevice));
  }
  ~DeviceArray() { cudaFree(data); }
  std::vector<T> host() const {
    std::vector<T> out(size);
    GC_CUDA_CHECK(cudaMemcpy(out.data(), data, size * sizeof(T), cudaMemcpyDeviceToHost));
    return out;
  }
  T* data = nullptr;
  std::size_t size;
};

TEST(CudaEmuSemantics, Shuffles) {
  DeviceArray<int> out(32 * 6, -1);
  gc::semantics::shuffles(out.data);
  const auto got = out.host();
  for (int lane = 0; lane < 32; ++lane) {
    const int* mine = &got[6 * lane];
    EXPECT_EQ(mine[0], 10 * ((lane + 3) % 32)) << lane;
    EXPECT_EQ(mine[1], 10 * (lane >= 1 ? lane - 1 : lane)) << lane;
    EXPECT_EQ(mine[2], 10 * (lane + 2 < 32 ? lane + 2 : lane)) << lane;
    EXPECT_EQ(mine[3], 10 * (lane ^ 5)) << lane;
    const int group = lane / 8 * 8;
    EXPECT_EQ(mine[4], 10 * ((lane ^ 5) < group + 8 ? (lane ^ 5) : lane)) << lane;
    EXPECT_EQ(mine[5], 10 * (group + 1)) << lane;
  }
}

TEST(CudaEmuSemantics, Votes) {
  DeviceArray<unsigned> out(5, 12345u);
  gc::semantics::votes(out.data);
  const auto got = out.host();
  unsigned every_third = 0;
  for (int lane = 0; lane < 32; lane += 3) every_third |= 1u << lane;
  EXPECT_EQ(got[0], every_third);
  EXPECT_EQ(got[1], 1u);
  EXPECT_EQ(got[2], 1u);
  EXPECT_EQ(got[3], 0u);
  EXPECT_EQ(got[4], 0x0000aaaau);  // odd lanes among 0..15
}

TEST(CudaEmuSemantics, AtomicsUnderContention) {
  const int blocks = 48, threads = 256, total = blocks * threads;
  DeviceArray<int> count(1), maximum(1, -1);
  DeviceArray<float> sum(1);
  DeviceArray<unsigned> cas(1);
  gc::semantics::atomics(count.data, sum.data, maximum.data, cas.data, blocks, threads);
  EXPECT_EQ(count.host()[0], total);
  EXPECT_EQ(sum.host()[0], static_cast<float>(total));  // exact below 2^24
  EXPECT_EQ(maximum.host()[0], total - 1);
  EXPECT_EQ(cas.host()[0], static_cast<unsigned>(total));
}

TEST(CudaEmuSemantics, DynamicSharedMemoryHasTheLaunchSize) {
  const int threads = 200;
  DeviceArray<float> out(threads, -1.0f);
  gc::semantics::dynamic_shared(out.data, threads);
  const auto got = out.host();
  for (int t = 0; t < threads; ++t) EXPECT_EQ(got[t], static_cast<float>((t + 1) % threads)) << t;
}

TEST(CudaEmuSemantics, DynamicSharedMemoryLimitNeedsOptIn) {
  DeviceArray<float> out(32);
  EXPECT_EQ(gc::semantics::dynamic_shared_raw(out.data, 32, 48 * 1024 + 4), cudaErrorInvalidValue);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidValue);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);  // reading the error clears it
  ASSERT_EQ(gc::semantics::allow_dynamic_shared(100 * 1024), cudaSuccess);
  EXPECT_EQ(gc::semantics::dynamic_shared_raw(out.data, 32, 100 * 1024), cudaSuccess);
  EXPECT_EQ(gc::semantics::allow_dynamic_shared(228 * 1024), cudaErrorInvalidValue);  // over 227 KB
}

TEST(CudaEmuSemantics, ThreeDimensionalIndexing) {
  const dim3 grid(2, 3, 4), block(4, 2, 3);
  const std::size_t n = 2 * 3 * 4 * 4 * 2 * 3;
  DeviceArray<int> out(n, -1);
  gc::semantics::indexing(out.data, grid, block);
  const auto got = out.host();
  std::set<int> want;
  for (unsigned bz = 0; bz < 4; ++bz)
    for (unsigned by = 0; by < 3; ++by)
      for (unsigned bx = 0; bx < 2; ++bx)
        for (unsigned tz = 0; tz < 3; ++tz)
          for (unsigned ty = 0; ty < 2; ++ty)
            for (unsigned tx = 0; tx < 4; ++tx) want.insert(gc::semantics::pack(bx, by, bz, tx, ty, tz));
  EXPECT_EQ(std::set<int>(got.begin(), got.end()), want);
  // And in the order CUDA numbers threads: x fastest, then y, then z; blocks likewise.
  EXPECT_EQ(got[1], gc::semantics::pack(0, 0, 0, 1, 0, 0));
  EXPECT_EQ(got[4], gc::semantics::pack(0, 0, 0, 0, 1, 0));
  EXPECT_EQ(got[24], gc::semantics::pack(1, 0, 0, 0, 0, 0));
  EXPECT_EQ(got[48], gc::semantics::pack(0, 1, 0, 0, 0, 0));
}

void expect_launch_error(dim3 grid, dim3 block, cudaError_t code, const std::string& words) {
  try {
    gc::semantics::empty(grid, block);
    ADD_FAILURE() << "launch succeeded";
  } catch (const gc::cuda::Error& error) {
    EXPECT_EQ(error.code, code);
    EXPECT_NE(std::string(error.what()).find(words), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("semantics.cu:"), std::string::npos) << error.what();
  }
}

TEST(CudaEmuSemantics, LaunchLimits) {
  expect_launch_error(1, 1025, cudaErrorInvalidConfiguration, "1025 threads per block");
  expect_launch_error(1, dim3(32, 32, 2), cudaErrorInvalidConfiguration, "2048 threads per block");
  expect_launch_error(1, dim3(1, 1, 65), cudaErrorInvalidConfiguration, "z <= 64");
  expect_launch_error(dim3(1, 65536), 32, cudaErrorInvalidConfiguration, "grid over the limit");
  expect_launch_error(0, 32, cudaErrorInvalidConfiguration, "zero");
  EXPECT_NO_THROW(gc::semantics::empty(dim3(3, 2, 2), dim3(1024)));
}

TEST(CudaEmuSemantics, WarpCallNamingAnExitedLaneIsAnError) {
  DeviceArray<int> out(32);
  try {
    gc::semantics::shuffle_after_exit(out.data);
    ADD_FAILURE() << "launch succeeded";
  } catch (const gc::cuda::Error& error) {
    const std::string text = error.what();
    EXPECT_EQ(error.code, cudaErrorLaunchFailure);
    for (const char* word : {"shuffle_after_exit_kernel", "block (0,0,0)", "__shfl_sync", "semantics.cu:",
                             "names lane 16", "exited"}) {
      EXPECT_NE(text.find(word), std::string::npos) << word << " in " << text;
    }
  }
}

TEST(CudaEmuSemantics, HostApiChecksPointers) {
  DeviceArray<float> buffer(16);
  std::vector<float> host(32);
  EXPECT_EQ(cudaMemcpy(host.data(), buffer.data, 32 * sizeof(float), cudaMemcpyDeviceToHost), cudaErrorInvalidValue);
  EXPECT_EQ(cudaMemset(buffer.data + 8, 0, 9 * sizeof(float)), cudaErrorInvalidValue);
  EXPECT_EQ(cudaFree(host.data()), cudaErrorInvalidValue);
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreate(&stream), cudaSuccess);
  EXPECT_EQ(cudaMemcpyAsync(host.data(), buffer.data, 16 * sizeof(float), cudaMemcpyDeviceToHost, stream),
            cudaSuccess);
  EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);
  EXPECT_EQ(cudaStreamSynchronize(stream), cudaErrorInvalidResourceHandle);
  EXPECT_STREQ(cudaGetErrorName(cudaErrorInvalidConfiguration), "cudaErrorInvalidConfiguration");
}

TEST(CudaEmuSemantics, ScheduleParsing) {
  EXPECT_EQ(gc::emu::to_string(gc::emu::parse_schedule("shuffle:42")), "shuffle:42");
  EXPECT_EQ(gc::emu::to_string(gc::emu::parse_schedule("reverse")), "reverse");
  EXPECT_THROW(gc::emu::parse_schedule("shuffle:"), std::invalid_argument);
  EXPECT_THROW(gc::emu::parse_schedule("backwards"), std::invalid_argument);
}

}  // namespace
