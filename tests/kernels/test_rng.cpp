// The portable RNG: pinned output values (so a change of platform, compiler
// or code that alters the stream fails here), uniform and normal moments,
// save/restore of the state, unbiased bounded integers and Fisher–Yates.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "kernels/cpu/rng.h"

namespace gc::cpu {
namespace {

// The first outputs of splitmix64 from state 0, as published with the
// reference implementation (Vigna, prng.di.unimi.it).
TEST(Rng, SplitMix64MatchesReferenceOutputs) {
  uint64_t state = 0;
  EXPECT_EQ(splitmix64_next(state), 0xe220a8397b1dcdafull);
  EXPECT_EQ(splitmix64_next(state), 0x6e789e6aa1b965f4ull);
  EXPECT_EQ(splitmix64_next(state), 0x06c45d188009454full);
}

// Pinned from an independent Python implementation of the same definitions.
TEST(Rng, XoshiroAndCounterStreamsArePinned) {
  Rng rng(42);
  EXPECT_EQ(rng.next_u64(), 0x15780b2e0c2ec716ull);
  EXPECT_EQ(rng.next_u64(), 0x6104d9866d113a7eull);
  EXPECT_EQ(rng.next_u64(), 0xae17533239e499a1ull);
  EXPECT_EQ(rng.next_u64(), 0xecb8ad4703b360a1ull);
  EXPECT_EQ(counter_bits(7, 0), 0x863b891f4c0abd4full);
  EXPECT_EQ(counter_bits(7, 1), 0x4d58fbd282eaf415ull);
  EXPECT_EQ(counter_bits(7, 2), 0xf0e521070cc03750ull);
}

TEST(Rng, UniformsStayInUnitIntervalIncludingExtremeBits) {
  EXPECT_EQ(uniform_float_from_bits(0), 0.0f);
  EXPECT_LT(uniform_float_from_bits(~0ull), 1.0f);
  EXPECT_EQ(uniform_double_from_bits(0), 0.0);
  EXPECT_LT(uniform_double_from_bits(~0ull), 1.0);
}

// n = 200000 draws: the mean of U[0,1) has sd √(1/12/n) ≈ 6.5e-4, the mean of
// N(0,1) sd ≈ 2.2e-3 and its variance sd ≈ √(2/n) ≈ 3.2e-3; tolerances are ~5 sd.
TEST(Rng, UniformAndNormalMoments) {
  Rng rng(2024);
  const int n = 200000;
  double usum = 0, nsum = 0, nsq = 0;
  for (int i = 0; i < n; ++i) {
    const float u = rng.uniform_float();
    ASSERT_TRUE(u >= 0.0f && u < 1.0f) << u;
    usum += u;
    const double z = rng.normal();
    ASSERT_TRUE(std::isfinite(z)) << z;
    nsum += z;
    nsq += z * z;
  }
  const double umean = usum / n, nmean = nsum / n, nvar = nsq / n - nmean * nmean;
  EXPECT_TRUE(std::fabs(umean - 0.5) <= 3.5e-3) << umean;
  EXPECT_TRUE(std::fabs(nmean) <= 1.1e-2) << nmean;
  EXPECT_TRUE(std::fabs(nvar - 1.0) <= 1.6e-2) << nvar;
}

TEST(Rng, StateSaveAndRestoreContinuesTheStream) {
  Rng a(5);
  for (int i = 0; i < 10; ++i) a.next_u64();
  const RngState saved = a.state();
  std::vector<uint64_t> first;
  for (int i = 0; i < 5; ++i) first.push_back(a.next_u64());
  Rng b(999);
  b.set_state(saved);
  for (uint64_t v : first) EXPECT_EQ(b.next_u64(), v);
  EXPECT_THROW(b.set_state(RngState{{0, 0, 0, 0}}), std::invalid_argument);
}

TEST(Rng, DifferentSeedsGiveDifferentStreams) {
  Rng a(1), b(2);
  EXPECT_NE(a.next_u64(), b.next_u64());
  EXPECT_NE(counter_bits(1, 0), counter_bits(2, 0));
  EXPECT_NE(counter_bits(1, 1), counter_bits(2, 0));  // nearby seeds are not shifted copies
}

// Chi-square over 10 bins with 100000 draws; 9 degrees of freedom, p = 0.001 at 27.9.
TEST(Rng, BelowIsInRangeAndUniform) {
  Rng rng(77);
  std::vector<int> hist(10, 0);
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    const uint64_t v = rng.below(10);
    ASSERT_LT(v, 10u);
    ++hist[v];
  }
  double chi2 = 0;
  for (int c : hist) chi2 += (c - n / 10.0) * (c - n / 10.0) / (n / 10.0);
  EXPECT_TRUE(chi2 <= 27.9) << chi2;
  EXPECT_THROW(rng.below(0), std::invalid_argument);
  EXPECT_EQ(rng.below(1), 0u);
}

TEST(Rng, ShuffleIsASeededPermutation) {
  std::vector<int> a(1000), b(1000);
  std::iota(a.begin(), a.end(), 0);
  std::iota(b.begin(), b.end(), 0);
  Rng ra(3), rb(3);
  shuffle<int>(1000, a.data(), ra);
  shuffle<int>(1000, b.data(), rb);
  EXPECT_EQ(a, b);
  std::vector<int> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int> identity(1000);
  std::iota(identity.begin(), identity.end(), 0);
  EXPECT_EQ(sorted, identity);
  EXPECT_NE(a, identity);
  int none = 0;
  shuffle<int>(0, &none, ra);  // empty and single-element shuffles are no-ops
  shuffle<int>(1, &none, ra);
  EXPECT_EQ(none, 0);
  EXPECT_THROW(shuffle<int>(-1, &none, ra), std::invalid_argument);
}

// All 6 orders of 3 items, 60000 shuffles: chi-square, 5 dof, p = 0.001 at 20.5.
TEST(Rng, ShuffleHitsEveryPermutationEvenly) {
  Rng rng(11);
  std::map<std::vector<int>, int> seen;
  const int n = 60000;
  for (int i = 0; i < n; ++i) {
    std::vector<int> v = {0, 1, 2};
    shuffle<int>(3, v.data(), rng);
    ++seen[v];
  }
  ASSERT_EQ(seen.size(), 6u);
  double chi2 = 0;
  for (const auto& [perm, c] : seen) chi2 += (c - n / 6.0) * (c - n / 6.0) / (n / 6.0);
  EXPECT_TRUE(chi2 <= 20.5) << chi2;
}

}  // namespace
}  // namespace gc::cpu
