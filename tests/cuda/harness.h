// The parity harness of tests/cuda: the backend table under test (the
// emulator or the GPU, chosen by which table_*.cpp the binary links), device
// buffers over that table, fresh random inputs from a printed seed, NaN
// poisoning, and the one comparison every test uses.
//
// The comparison: got passes iff |got − want| ≤ 1e-5 · max(1, mag), written
// as !(… <= …) so that NaN always fails. mag is the size of the terms the
// result is made of: |want| for pointwise ops (one or two roundings on each
// side), and for sums (GEMM, convolution, reductions) the same op applied to
// the absolute values of its inputs, Σ|terms|. Any summation order of n
// float terms is within (n − 1)·u·Σ|terms| of the exact sum (u = 2^-24), so
// two correct orders differ by at most 2(n − 1)·u·Σ|terms|: under 1e-5·Σ|terms|
// for n ≤ 84, and for longer sums (up to a few hundred terms here) the
// rounding errors add like a random walk, ~√n·u. Scaling by Σ|terms| rather
// than |want| keeps cancellation (a sum near 0 of large terms) from failing
// correct kernels, while an unwritten, misplaced or wrong term (of size ~1)
// still fails by orders of magnitude.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/cpu/rng.h"
#include "kernels/cuda/ops.h"

namespace gc::cuda::test {

// Defined by table_emu.cpp or table_gpu.cpp.
const Kernels& table();

// Skips the test (GTEST_SKIP) when the table has no device to run on.
#define GC_REQUIRE_DEVICE()                                                                     \
  do {                                                                                          \
    if (::gc::cuda::test::table().device_count() == 0)                                          \
      GTEST_SKIP() << "no CUDA device (cudaGetDeviceCount reports none): skipping GPU test";    \
  } while (0)

// The run's seed: GRADCORE_TEST_SEED, else fresh; printed on first use.
uint64_t seed();
// True when GRADCORE_CUDA_TEST_SIZES=small (the sanitizer runs).
bool small_sizes();

// n uniform values in [lo, hi) from the run's seed and a per-call salt.
std::vector<float> random_vector(size_t n, uint64_t salt, float lo = -1.0f, float hi = 1.0f);
std::vector<float> abs_of(const std::vector<float>& v);

// Device memory from the table, freed on destruction.
template <typename T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t n) : n_(n), p_(static_cast<T*>(table().malloc((n ? n : 1) * sizeof(T)))) {}
  explicit DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size()) { upload(host); }
  ~DeviceBuffer() { table().free(p_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  T* get() const { return p_; }
  void upload(const std::vector<T>& host) { table().copy_to_device(p_, host.data(), host.size() * sizeof(T)); }
  std::vector<T> download() const {
    std::vector<T> host(n_);
    table().copy_to_host(host.data(), p_, n_ * sizeof(T));
    return host;
  }

 private:
  size_t n_;
  T* p_;
};

// A float buffer filled with NaN on the device, so an element the kernel
// fails to write fails the comparison.
struct PoisonedBuffer : DeviceBuffer<float> {
  explicit PoisonedBuffer(size_t n) : DeviceBuffer<float>(n) { table().fill(get(), static_cast<int64_t>(n), NAN); }
};

// The criterion above over whole arrays; mag empty means mag = |want|.
// Reports the first few mismatches with index, values and the seed.
::testing::AssertionResult close(const std::vector<float>& got, const std::vector<float>& want,
                                 const std::vector<float>& mag = {}, double tol = 1e-5);
// Bitwise equality (masks, argmax, max pooling).
template <typename T>
::testing::AssertionResult equal(const std::vector<T>& got, const std::vector<T>& want) {
  if (got.size() != want.size()) return ::testing::AssertionFailure() << "size " << got.size() << " != " << want.size();
  for (size_t i = 0; i < got.size(); ++i)
    if (!(got[i] == want[i]))
      return ::testing::AssertionFailure() << "element " << i << ": got " << got[i] << ", want " << want[i]
                                           << " (seed " << seed() << ")";
  return ::testing::AssertionSuccess();
}

}  // namespace gc::cuda::test
