// SGEMM (every SIMD path this CPU runs) and DGEMM against a naive loop that
// accumulates in double.
//
// Tolerance: a dot product of length k summed in float (any order, with or
// without FMA) is off from the exact value by at most about k·u·Σ|a·b| with
// u = 2⁻²⁴; we allow |c − ref| ≤ (k + 2)·2⁻²³·(|α|·Σ_p|A(i,p)·B(p,j)| + |β·C(i,j)|),
// twice that bound, element by element.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/gemm.h"

namespace gc::cpu {
namespace {

// Stores a rows×cols matrix (row-major) with a row stride of cols + pad, so
// a kernel that assumes ld == cols reads the wrong elements.
struct Matrix {
  int rows, cols, ld;
  std::vector<float> data;
  Matrix(int r, int c, int pad, std::mt19937& rng)
      : rows(r), cols(c), ld(c + pad), data(std::size_t(r) * (c + pad) + 1) {
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (float& x : data) x = dist(rng);
  }
  float at(int r, int c) const { return data[std::size_t(r) * ld + c]; }
};

struct Case {
  int m, n, k;
  bool ta, tb;
  float alpha, beta;
};

std::string describe(const Case& c) {
  return "m=" + std::to_string(c.m) + " n=" + std::to_string(c.n) + " k=" + std::to_string(c.k) +
         " trans_a=" + std::to_string(c.ta) + " trans_b=" + std::to_string(c.tb) +
         " alpha=" + std::to_string(c.alpha) + " beta=" + std::to_string(c.beta);
}

// Runs sgemm on one case and checks every element of C (and that the padding
// columns of C are untouched). Returns the number of bad elements.
int check_case(const Case& cs, std::uint32_t seed) {
  std::mt19937 rng(seed);
  Matrix a = cs.ta ? Matrix(cs.k, cs.m, 3, rng) : Matrix(cs.m, cs.k, 3, rng);
  Matrix b = cs.tb ? Matrix(cs.n, cs.k, 5, rng) : Matrix(cs.k, cs.n, 5, rng);
  Matrix c(cs.m, cs.n, 2, rng);
  const std::vector<float> c_before = c.data;

  sgemm(cs.ta, cs.tb, cs.m, cs.n, cs.k, cs.alpha, a.data.data(), a.ld, b.data.data(), b.ld,
        cs.beta, c.data.data(), c.ld);

  int bad = 0;
  for (int i = 0; i < cs.m; ++i) {
    for (int j = 0; j < cs.n; ++j) {
      double sum = 0, magnitude = 0;
      for (int p = 0; p < cs.k; ++p) {
        double prod = double(cs.ta ? a.at(p, i) : a.at(i, p)) * (cs.tb ? b.at(j, p) : b.at(p, j));
        sum += prod;
        magnitude += std::fabs(prod);
      }
      double old = c_before[std::size_t(i) * c.ld + j];
      double ref = cs.alpha * sum + (cs.beta == 0.0f ? 0.0 : cs.beta * old);
      double bound = std::fabs(cs.alpha) * magnitude + std::fabs(cs.beta * old);
      double tol = (cs.k + 2) * std::ldexp(1.0, -23) * bound;
      double err = std::fabs(c.at(i, j) - ref);
      if (!(err <= tol) && bad++ < 3) {
        ADD_FAILURE() << describe(cs) << " seed=" << seed << ": C(" << i << "," << j
                      << ")=" << c.at(i, j) << " expected " << ref << " (err " << err
                      << " > tol " << tol << ")";
      }
    }
    for (int j = cs.n; j < c.ld; ++j) {
      std::size_t idx = std::size_t(i) * c.ld + j;
      if (std::memcmp(&c.data[idx], &c_before[idx], sizeof(float)) != 0 && bad++ < 3) {
        ADD_FAILURE() << describe(cs) << ": wrote padding column " << j << " of row " << i;
      }
    }
  }
  return bad;
}

class SgemmPath : public ::testing::TestWithParam<SimdLevel> {
 protected:
  void SetUp() override {
    if (!cpu_supports(GetParam())) GTEST_SKIP() << "CPU lacks " << simd_name(GetParam());
    set_simd_override(GetParam());
  }
  void TearDown() override { set_simd_override(std::nullopt); }
};

constexpr float kAlphaBeta[][2] = {{1.0f, 0.0f}, {0.5f, -1.5f}, {-2.0f, 1.0f}};

TEST_P(SgemmPath, SmallSizesAllTransposesAndScalings) {
  const int sizes[] = {0, 1, 7, 33};
  std::uint32_t seed = 1;
  for (int m : sizes)
    for (int n : sizes)
      for (int k : sizes)
        for (int t = 0; t < 4; ++t)
          for (auto [alpha, beta] : kAlphaBeta)
            ASSERT_EQ(check_case({m, n, k, bool(t & 1), bool(t & 2), alpha, beta}, seed++), 0);
}

// 257 crosses register tiles everywhere; the others cross the cache blocks
// (k > KC so beta is applied once, m > MC, n > NC) and use several threads.
TEST_P(SgemmPath, LargeAndBlockCrossingSizes) {
  const int shapes[][3] = {{257, 33, 7},   {7, 257, 33},  {33, 7, 257},  {257, 257, 257},
                           {450, 40, 600}, {13, 4200, 3}, {70, 90, 1100}};
  std::uint32_t seed = 1000;
  for (auto [m, n, k] : shapes) {
    for (int t = 0; t < 4; ++t) {
      ASSERT_EQ(check_case({m, n, k, bool(t & 1), bool(t & 2), 0.5f, -1.5f}, seed++), 0);
    }
  }
}

// The MNIST model's dense layers and an im2col convolution, with the
// transposes their backward passes use.
TEST_P(SgemmPath, ModelShapes) {
  const Case shapes[] = {{128, 64, 576, false, true, 1, 0},  {128, 576, 64, false, false, 1, 0},
                         {64, 576, 128, true, false, 1, 1},  {128, 10, 64, false, true, 1, 0},
                         {128, 64, 10, false, false, 1, 0},  {10, 64, 128, true, false, 1, 1},
                         {32, 6760, 9, false, false, 1, 0},  {9, 6760, 32, true, false, 1, 0}};
  std::uint32_t seed = 2000;
  for (const Case& shape : shapes) ASSERT_EQ(check_case(shape, seed++), 0);
}

TEST_P(SgemmPath, BetaZeroIgnoresNaNInC) {
  const int m = 37, n = 45, k = 19;
  std::mt19937 rng(7);
  Matrix a(m, k, 1, rng), b(k, n, 1, rng);
  std::vector<float> c(std::size_t(m) * n, std::numeric_limits<float>::quiet_NaN());
  sgemm(false, false, m, n, k, 1.0f, a.data.data(), a.ld, b.data.data(), b.ld, 0.0f, c.data(), n);
  for (float x : c) ASSERT_TRUE(std::isfinite(x));
  // k == 0 and alpha == 0 also overwrite C with beta·C = 0.
  std::fill(c.begin(), c.end(), std::numeric_limits<float>::quiet_NaN());
  sgemm(false, false, m, n, 0, 1.0f, nullptr, 1, nullptr, n, 0.0f, c.data(), n);
  for (float x : c) ASSERT_EQ(x, 0.0f);
}

TEST_P(SgemmPath, BitwiseDeterministicAcrossRunsAndThreadCounts) {
  const int m = 300, n = 270, k = 700;
  std::mt19937 rng(11);
  Matrix a(m, k, 0, rng), b(k, n, 0, rng);
  auto run = [&] {
    std::vector<float> c(std::size_t(m) * n);
    sgemm(false, false, m, n, k, 1.0f, a.data.data(), a.ld, b.data.data(), b.ld, 0.0f, c.data(),
          n);
    return c;
  };
  const std::vector<float> first = run();
  EXPECT_EQ(std::memcmp(first.data(), run().data(), first.size() * sizeof(float)), 0);
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  const std::vector<float> single = run();
  omp_set_num_threads(threads);
  EXPECT_EQ(std::memcmp(first.data(), single.data(), first.size() * sizeof(float)), 0);
}

// Callers (e.g. a convolution over a batch) may call sgemm from their own
// parallel loop: each call then runs on its thread alone, with its own
// packing buffers, and must give the same bits as a call from outside.
TEST_P(SgemmPath, CallsFromInsideAParallelRegionAgree) {
  const int m = 100, n = 150, k = 300, calls = 8;  // big enough to thread outside
  std::mt19937 rng(13);
  Matrix a(m, k, 0, rng), b(k, n, 0, rng);
  std::vector<float> expected(std::size_t(m) * n);
  sgemm(false, false, m, n, k, 1.0f, a.data.data(), a.ld, b.data.data(), b.ld, 0.0f,
        expected.data(), n);
  std::vector<std::vector<float>> results(calls, std::vector<float>(std::size_t(m) * n));
#pragma omp parallel for num_threads(2)
  for (int i = 0; i < calls; ++i) {
    sgemm(false, false, m, n, k, 1.0f, a.data.data(), a.ld, b.data.data(), b.ld, 0.0f,
          results[i].data(), n);
  }
  for (int i = 0; i < calls; ++i) {
    EXPECT_EQ(std::memcmp(expected.data(), results[i].data(), expected.size() * sizeof(float)), 0)
        << "call " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Simd, SgemmPath,
                         ::testing::Values(SimdLevel::avx512, SimdLevel::avx2, SimdLevel::scalar),
                         [](const auto& info) { return std::string(simd_name(info.param)); });

TEST(Sgemm, RejectsBadArguments) {
  std::vector<float> buf(64);
  float* p = buf.data();
  EXPECT_THROW(sgemm(false, false, -1, 2, 2, 1, p, 2, p, 2, 0, p, 2), std::invalid_argument);
  EXPECT_THROW(sgemm(false, false, 2, 2, 3, 1, p, 2, p, 2, 0, p, 2), std::invalid_argument);
  EXPECT_THROW(sgemm(true, false, 3, 2, 2, 1, p, 2, p, 2, 0, p, 2), std::invalid_argument);
  EXPECT_THROW(sgemm(false, true, 2, 2, 3, 1, p, 3, p, 2, 0, p, 2), std::invalid_argument);
  EXPECT_THROW(sgemm(false, false, 2, 4, 2, 1, p, 2, p, 4, 0, p, 3), std::invalid_argument);
  EXPECT_THROW(sgemm(false, false, 2, 2, 2, 1, nullptr, 2, p, 2, 0, p, 2), std::invalid_argument);
  try {
    sgemm(false, false, 2, 2, 3, 1, p, 2, p, 2, 0, p, 2);
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("lda=2"), std::string::npos) << e.what();
  }
}

TEST(CpuFeatures, ParsesLevelNames) {
  EXPECT_EQ(parse_simd_level("avx512"), SimdLevel::avx512);
  EXPECT_EQ(parse_simd_level("avx2"), SimdLevel::avx2);
  EXPECT_EQ(parse_simd_level("scalar"), SimdLevel::scalar);
  EXPECT_EQ(parse_simd_level("sse"), std::nullopt);
  EXPECT_TRUE(cpu_supports(SimdLevel::scalar));
  EXPECT_TRUE(cpu_supports(detected_simd_level()));
  if (!cpu_supports(SimdLevel::avx512)) {
    EXPECT_THROW(set_simd_override(SimdLevel::avx512), std::invalid_argument);
  }
}

TEST(Dgemm, MatchesLongDoubleLoop) {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> dist(-1, 1);
  const int sizes[] = {0, 1, 7, 33};
  for (int m : sizes)
    for (int n : sizes)
      for (int k : sizes)
        for (int t = 0; t < 4; ++t) {
          const bool ta = t & 1, tb = t & 2;
          const int lda = (ta ? m : k) + 1, ldb = (tb ? k : n) + 2, ldc = n + 3;
          std::vector<double> a(std::size_t(ta ? k : m) * lda + 1), b(std::size_t(tb ? n : k) * ldb + 1),
              c(std::size_t(m) * ldc + 1);
          for (std::vector<double>* v : {&a, &b, &c})
            for (double& x : *v) x = dist(rng);
          const std::vector<double> c0 = c;
          const double alpha = 0.75, beta = -0.5;
          dgemm(ta, tb, m, n, k, alpha, a.data(), lda, b.data(), ldb, beta, c.data(), ldc);
          for (int i = 0; i < m; ++i)
            for (int j = 0; j < n; ++j) {
              long double sum = 0, magnitude = 0;
              for (int p = 0; p < k; ++p) {
                long double prod = (long double)(ta ? a[p * lda + i] : a[i * lda + p]) *
                                   (tb ? b[j * ldb + p] : b[p * ldb + j]);
                sum += prod;
                magnitude += std::fabs(prod);
              }
              long double ref = alpha * sum + beta * c0[i * ldc + j];
              double tol = (k + 2) * std::ldexp(1.0, -52) *
                           double(alpha * magnitude + std::fabs(beta * c0[i * ldc + j]));
              double err = std::fabs(double(c[i * ldc + j] - ref));
              ASSERT_TRUE(err <= tol) << "m=" << m << " n=" << n << " k=" << k << " t=" << t
                                      << " C(" << i << "," << j << ") err " << err;
            }
        }
}

}  // namespace
}  // namespace gc::cpu
