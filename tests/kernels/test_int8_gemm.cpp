// The int8 GEMM (kernels/cpu/int8_gemm.h): every SIMD path this CPU has must
// equal the scalar reference exactly, on odd shapes and at the extremes of the
// value ranges (activations 0/255, weights −128/127), where the AVX2 path's
// s16 pair sums would saturate without its split pass. Paths the CPU lacks
// skip, naming the missing feature.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/int8_gemm.h"

namespace gc::cpu {
namespace {

enum class Values { random, extremes, worst_negative, worst_positive, seven_bit_weights };

const char* values_name(Values v) {
  switch (v) {
    case Values::random: return "random";
    case Values::extremes: return "extremes";
    case Values::worst_negative: return "all 255 x all -128";
    case Values::worst_positive: return "all 255 x all 127";
    case Values::seven_bit_weights: return "7-bit weights";
  }
  return "?";
}

struct Operands {
  int m, n, k;
  std::ptrdiff_t lda;
  std::vector<uint8_t> a;  // m × lda, bytes past k random (they must not matter)
  std::vector<int8_t> w;   // n × k
};

Operands make_operands(int m, int n, int k, Values values, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> byte(0, 255), coin(0, 1), seven(-64, 64);
  Operands op{m, n, k, 4 * ((k + 3) / 4) + 3, {}, {}};
  op.a.resize(std::size_t(m) * op.lda);
  op.w.resize(std::size_t(n) * k);
  for (auto& x : op.a) x = static_cast<uint8_t>(byte(rng));
  for (int i = 0; i < m; ++i) {
    for (int p = 0; p < k; ++p) {
      uint8_t& x = op.a[i * op.lda + p];
      if (values == Values::extremes) x = coin(rng) ? 255 : 0;
      if (values == Values::worst_negative || values == Values::worst_positive) x = 255;
    }
  }
  for (auto& x : op.w) {
    switch (values) {
      case Values::random: x = static_cast<int8_t>(byte(rng) - 128); break;
      case Values::extremes: x = coin(rng) ? 127 : -128; break;
      case Values::worst_negative: x = -128; break;
      case Values::worst_positive: x = 127; break;
      case Values::seven_bit_weights: x = static_cast<int8_t>(seven(rng)); break;
    }
  }
  return op;
}

struct Shape {
  int m, n, k;
};
// Odd sizes around every tile edge (4, 6, 12 rows; 16 channels; 4-byte quads),
// and the seed CNN's layers (conv 2: 121 × 64 × 288, fc: 64 × 64 × 576).
const Shape kShapes[] = {{1, 1, 1},   {3, 5, 7},    {13, 17, 9},  {7, 16, 4},   {25, 31, 13},
                         {37, 33, 290}, {121, 64, 288}, {64, 64, 576}, {5, 10, 64}, {12, 48, 3}};

class Int8GemmPath : public ::testing::TestWithParam<Int8Path> {
 protected:
  void SetUp() override {
    if (!cpu_supports(GetParam()))
      GTEST_SKIP() << "int8 path " << int8_path_name(GetParam()) << " needs CPU feature "
                   << missing_feature(GetParam()) << ", which this CPU lacks";
  }
};

TEST_P(Int8GemmPath, EqualsReferenceExactly) {
  const Values all[] = {Values::random, Values::extremes, Values::worst_negative, Values::worst_positive,
                        Values::seven_bit_weights};
  std::uint32_t seed = 1;
  for (const Shape& s : kShapes) {
    for (Values values : all) {
      const Operands op = make_operands(s.m, s.n, s.k, values, seed++);
      const PackedS8Weights packed = pack_s8_weights(s.n, s.k, op.w.data());
      const std::ptrdiff_t ldc = s.n + 3;
      constexpr int32_t kSentinel = 0x5a5a5a5a;
      std::vector<int32_t> ref(std::size_t(s.m) * ldc, kSentinel), got(ref);
      gemm_u8s8s32_reference(s.m, s.n, s.k, op.a.data(), op.lda, op.w.data(), ref.data(), ldc);
      gemm_u8s8s32(GetParam(), s.m, op.a.data(), op.lda, packed, got.data(), ldc);
      int bad = 0;
      for (std::size_t e = 0; e < got.size(); ++e) bad += got[e] != ref[e];
      EXPECT_EQ(bad, 0) << "m=" << s.m << " n=" << s.n << " k=" << s.k << " values " << values_name(values)
                        << " (AVX2 " << (packed.pairs_fit_s16 ? "one pass" : "split pass") << ")";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllPaths, Int8GemmPath,
                         ::testing::Values(Int8Path::scalar, Int8Path::avx2, Int8Path::avx_vnni,
                                           Int8Path::avx512_vnni),
                         [](const auto& info) { return std::string(int8_path_name(info.param)); });

// The reference against the closed form at the extremes: k products of
// 255 · −128 (the sum AVX2's vpmaddubsw would saturate).
TEST(Int8GemmReference, WorstCaseSum) {
  const int k = 576;
  std::vector<uint8_t> a(k, 255);
  std::vector<int8_t> w(k, -128);
  int32_t c = 0;
  gemm_u8s8s32_reference(1, 1, k, a.data(), k, w.data(), &c, 1);
  EXPECT_EQ(c, 255 * -128 * k);
}

// The AVX2 one-pass condition: 7-bit weights qualify, a pair 127/127 or
// −128/−1 does not (255 · 254 > 32767, 255 · −129 < −32768), mixed signs do.
TEST(Int8GemmPacking, PairSaturationCheck) {
  auto fits = [](std::vector<int8_t> w) { return pack_s8_weights(1, int(w.size()), w.data()).pairs_fit_s16; };
  EXPECT_TRUE(fits({64, 64, -64, -64}));
  EXPECT_TRUE(fits({127, -128, 0, 0}));
  EXPECT_TRUE(fits({127, 1, -128, 0}));
  EXPECT_FALSE(fits({127, 2, 0, 0}));
  EXPECT_FALSE(fits({0, 0, -128, -1}));
  EXPECT_FALSE(fits({0, 0, 0, 0, 65, 64}));
}

// Packing: the panel layout of int8_gemm.h and the per-channel sums.
TEST(Int8GemmPacking, PanelLayoutAndRowSums) {
  const int n = 19, k = 6;
  std::vector<int8_t> w(n * k);
  for (int e = 0; e < n * k; ++e) w[e] = static_cast<int8_t>(e % 251 - 125);
  const PackedS8Weights p = pack_s8_weights(n, k, w.data());
  ASSERT_EQ(p.k_quads, 2);
  ASSERT_EQ(p.panels.size(), std::size_t(2 * 2 * 64));
  for (int j = 0; j < 32; ++j) {
    int32_t sum = 0;
    for (int col = 0; col < 8; ++col) {
      const int8_t expected = (j < n && col < k) ? w[j * k + col] : 0;
      const int8_t got = p.panels[(j / 16) * 2 * 64 + (col / 4) * 64 + 4 * (j % 16) + col % 4];
      EXPECT_EQ(got, expected) << "channel " << j << " column " << col;
      sum += expected;
    }
    if (j < n) {
      EXPECT_EQ(p.row_sums[j], sum) << "channel " << j;
    }
  }
}

TEST(Int8GemmDispatch, NamesAndOverride) {
  for (Int8Path p : {Int8Path::scalar, Int8Path::avx2, Int8Path::avx_vnni, Int8Path::avx512_vnni})
    EXPECT_EQ(parse_int8_path(int8_path_name(p)), p);
  EXPECT_FALSE(parse_int8_path("vnni"));
  set_int8_override(Int8Path::scalar);
  EXPECT_EQ(active_int8_path(), Int8Path::scalar);
  set_int8_override(std::nullopt);
  for (Int8Path p : {Int8Path::avx2, Int8Path::avx_vnni, Int8Path::avx512_vnni})
    if (!cpu_supports(p)) {
      EXPECT_THROW(set_int8_override(p), std::invalid_argument);
    }
}

}  // namespace
}  // namespace gc::cpu
