// The parity harness's seed, random inputs and comparison (harness.h).
#include "tests/cuda/harness.h"

#include <cstdio>
#include <cstdlib>
#include <random>

namespace gc::cuda::test {

uint64_t seed() {
  static const uint64_t value = [] {
    const char* env = std::getenv("GRADCORE_TEST_SEED");
    const uint64_t s = env ? std::strtoull(env, nullptr, 10) : (uint64_t(std::random_device{}()) << 32) ^ std::random_device{}();
    std::printf("tests/cuda: seed %llu (rerun with GRADCORE_TEST_SEED=%llu)\n", static_cast<unsigned long long>(s),
                static_cast<unsigned long long>(s));
    return s;
  }();
  return value;
}

bool small_sizes() {
  const char* env = std::getenv("GRADCORE_CUDA_TEST_SIZES");
  return env && std::string(env) == "small";
}

std::vector<float> random_vector(size_t n, uint64_t salt, float lo, float hi) {
  cpu::Rng rng(seed() ^ cpu::splitmix64_mix(salt));
  std::vector<float> v(n);
  for (float& x : v) x = static_cast<float>(rng.uniform(lo, hi));
  return v;
}

std::vector<float> abs_of(const std::vector<float>& v) {
  std::vector<float> a(v.size());
  for (size_t i = 0; i < v.size(); ++i) a[i] = std::fabs(v[i]);
  return a;
}

::testing::AssertionResult close(const std::vector<float>& got, const std::vector<float>& want,
                                 const std::vector<float>& mag, double tol) {
  if (got.size() != want.size()) return ::testing::AssertionFailure() << "size " << got.size() << " != " << want.size();
  size_t bad = 0;
  std::string first;
  for (size_t i = 0; i < got.size(); ++i) {
    const double scale = mag.empty() ? std::fabs(double(want[i])) : double(mag[i]);
    const double bound = tol * (scale > 1.0 ? scale : 1.0);
    if (!(std::fabs(double(got[i]) - double(want[i])) <= bound)) {
      if (++bad <= 4)
        first += " [" + std::to_string(i) + "] got " + std::to_string(got[i]) + " want " + std::to_string(want[i]) +
                 " (bound " + std::to_string(bound) + ");";
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << bad << " of " << got.size() << " elements differ:" << first << " seed "
                                       << seed();
}

}  // namespace gc::cuda::test
