// Every SGEMM version against cpu::sgemm: all four transpose combinations,
// m, n, k in {1, 7, 33, 65} (no multiple of any tile), shapes spanning
// several 128×128 block tiles, tight and padded leading dimensions (padded
// to a multiple of 4, so the float4 paths run, with partial float4s at the
// edges), beta = 0 (C poisoned with NaN, never read) and beta ≠ 0.
#include <string>
#include <tuple>
#include <vector>

#include "kernels/cpu/gemm.h"
#include "tests/cuda/harness.h"

namespace gc::cuda::test {
namespace {

struct Case {
  int m, n, k;
  bool ta, tb, padded;
  float alpha, beta;
};

std::string describe(const char* version, const Case& c) {
  return std::string(version) + " m=" + std::to_string(c.m) + " n=" + std::to_string(c.n) + " k=" +
         std::to_string(c.k) + (c.ta ? " A^T" : "") + (c.tb ? " B^T" : "") + (c.padded ? " padded" : " tight") +
         " alpha=" + std::to_string(c.alpha) + " beta=" + std::to_string(c.beta);
}

// Leading dimension for a stored row of `cols` floats.
int ld_for(int cols, bool padded) { return padded ? (cols + 3) / 4 * 4 + 4 : (cols > 1 ? cols : 1); }

void check(const SgemmVersion& v, const Case& c, uint64_t salt) {
  SCOPED_TRACE(describe(v.name, c));
  const int a_rows = c.ta ? c.k : c.m, a_cols = c.ta ? c.m : c.k;
  const int b_rows = c.tb ? c.n : c.k, b_cols = c.tb ? c.k : c.n;
  const int lda = ld_for(a_cols, c.padded), ldb = ld_for(b_cols, c.padded), ldc = ld_for(c.n, c.padded);
  const auto a = random_vector(size_t(a_rows) * lda, salt);
  const auto b = random_vector(size_t(b_rows) * ldb, salt + 1);
  auto want = c.beta == 0.0f ? std::vector<float>(size_t(c.m) * ldc, NAN) : random_vector(size_t(c.m) * ldc, salt + 2);
  const std::vector<float> c0 = want;

  DeviceBuffer<float> da(a), db(b);
  DeviceBuffer<float> dc(c0.size());
  if (c.beta == 0.0f) table().fill(dc.get(), int64_t(c0.size()), NAN);
  else dc.upload(c0);
  v.fn(c.ta, c.tb, c.m, c.n, c.k, c.alpha, da.get(), lda, db.get(), ldb, c.beta, dc.get(), ldc);
  const auto got = dc.download();

  cpu::sgemm(c.ta, c.tb, c.m, c.n, c.k, c.alpha, a.data(), lda, b.data(), ldb, c.beta, want.data(), ldc);
  // mag = |alpha|·|A|·|B| + |beta|·|C0|
  std::vector<float> mag(c0.size(), 0.0f);
  const auto abs_a = abs_of(a), abs_b = abs_of(b);
  cpu::sgemm(c.ta, c.tb, c.m, c.n, c.k, std::fabs(c.alpha), abs_a.data(), lda, abs_b.data(), ldb, 0.0f, mag.data(),
             ldc);
  if (c.beta != 0.0f)
    for (size_t i = 0; i < mag.size(); ++i) mag[i] += std::fabs(c.beta) * std::fabs(c0[i]);

  // Only C's m×n elements are compared; the padding columns must be untouched.
  std::vector<float> got_c, want_c, mag_c;
  for (int i = 0; i < c.m; ++i)
    for (int j = 0; j < ldc; ++j) {
      const size_t at = size_t(i) * ldc + j;
      if (j < c.n) {
        got_c.push_back(got[at]);
        want_c.push_back(want[at]);
        mag_c.push_back(mag[at]);
      } else {
        EXPECT_TRUE(std::isnan(got[at]) == std::isnan(c0[at]) && (std::isnan(c0[at]) || got[at] == c0[at]))
            << "padding element (" << i << ", " << j << ") was written";
      }
    }
  EXPECT_TRUE(close(got_c, want_c, mag_c));
}

std::vector<Case> cases() {
  std::vector<Case> out;
  const std::vector<int> sizes = small_sizes() ? std::vector<int>{7, 33} : std::vector<int>{1, 7, 33, 65};
  int index = 0;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      for (int m : sizes)
        for (int n : sizes)
          for (int k : sizes) {
            const bool beta_case = ++index % 2 == 0;
            out.push_back({m, n, k, ta, tb, index % 3 == 0, beta_case ? 0.5f : 1.0f, beta_case ? -1.25f : 0.0f});
          }
      // Several block tiles in both directions, both layouts.
      if (!small_sizes())
        for (bool padded : {false, true}) {
          out.push_back({130, 257, 19, ta, tb, padded, 1.0f, 0.0f});
          out.push_back({257, 131, 40, ta, tb, padded, 0.75f, 0.5f});
        }
    }
  return out;
}

class Sgemm : public ::testing::TestWithParam<int> {};

TEST_P(Sgemm, MatchesCpuOnOddShapesAndEveryTranspose) {
  GC_REQUIRE_DEVICE();
  const Kernels& k = table();
  ASSERT_LT(GetParam(), k.sgemm_version_count);
  const SgemmVersion& v = k.sgemm_versions[GetParam()];
  uint64_t salt = 1000 * uint64_t(GetParam());
  for (const Case& c : cases()) check(v, c, salt += 3);
}

INSTANTIATE_TEST_SUITE_P(Versions, Sgemm, ::testing::Range(0, 7),
                         [](const ::testing::TestParamInfo<int>& info) { return "v" + std::to_string(info.param + 1); });

TEST(SgemmTable, UsesTheLastVersionAndKeepsCUntouchedForEmptyProducts) {
  GC_REQUIRE_DEVICE();
  const Kernels& k = table();
  ASSERT_EQ(k.sgemm_version_count, 7);
  EXPECT_EQ(k.sgemm, k.sgemm_versions[6].fn);
  // k = 0: C = beta·C without reading A or B (null here).
  const auto c0 = random_vector(12, 7);
  DeviceBuffer<float> dc(c0);
  k.sgemm(false, false, 3, 4, 0, 1.0f, nullptr, 1, nullptr, 4, 2.0f, dc.get(), 4);
  std::vector<float> want(c0);
  for (float& x : want) x *= 2.0f;
  EXPECT_TRUE(close(dc.download(), want));
  EXPECT_THROW(k.sgemm(false, false, 3, 4, 5, 1.0f, nullptr, 4, nullptr, 4, 0.0f, dc.get(), 4), std::invalid_argument);
}

}  // namespace
}  // namespace gc::cuda::test
