// Broadcasting binary ops and sum_to_shape against naive 4-deep loops, for
// the broadcast patterns the engine uses: channel bias over NCHW [1,C,1,1],
// row bias [1,1,1,N], scalar, same shape, both operands broadcast (outer
// product), a transposed (non-contiguous) operand, and shapes above the
// OpenMP threshold and the row-chunk length. Plus scale/axpy/mul_elementwise.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/rng.h"

namespace gc::cpu {
namespace {

int64_t count(const Dims4& s) { return s.d[0] * s.d[1] * s.d[2] * s.d[3]; }

std::string str(const Dims4& s) {
  return "[" + std::to_string(s.d[0]) + "," + std::to_string(s.d[1]) + "," + std::to_string(s.d[2]) + "," +
         std::to_string(s.d[3]) + "]";
}

Dims4 contiguous(const Dims4& s) {
  return Dims4{{s.d[1] * s.d[2] * s.d[3], s.d[2] * s.d[3], s.d[3], 1}};
}

// Strides for reading an operand of shape `operand` against a larger output:
// contiguous, with stride 0 where the operand has size 1.
Dims4 broadcast_strides(const Dims4& operand) {
  Dims4 st = contiguous(operand);
  for (int d = 0; d < 4; ++d)
    if (operand.d[d] == 1) st.d[d] = 0;
  return st;
}

template <typename T>
std::vector<T> random_vector(int64_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<T> v(n);
  for (T& x : v) x = static_cast<T>(rng.uniform(-1, 1));
  return v;
}

struct Pattern {
  const char* name;
  Dims4 out;
  Dims4 a;  // operand shapes, broadcast to out
  Dims4 b;
};

const Pattern kPatterns[] = {
    {"same shape", {{2, 3, 5, 7}}, {{2, 3, 5, 7}}, {{2, 3, 5, 7}}},
    {"channel bias", {{2, 3, 5, 7}}, {{2, 3, 5, 7}}, {{1, 3, 1, 1}}},
    {"channel bias first", {{3, 33, 1, 7}}, {{1, 33, 1, 1}}, {{3, 33, 1, 7}}},
    {"row bias", {{1, 1, 33, 7}}, {{1, 1, 33, 7}}, {{1, 1, 1, 7}}},
    {"scalar", {{1, 3, 7, 33}}, {{1, 3, 7, 33}}, {{1, 1, 1, 1}}},
    {"scalar first", {{1, 1, 1, 1000}}, {{1, 1, 1, 1}}, {{1, 1, 1, 1000}}},
    {"outer product", {{1, 1, 33, 7}}, {{1, 1, 33, 1}}, {{1, 1, 1, 7}}},
    {"both broadcast 4d", {{3, 5, 7, 2}}, {{3, 1, 7, 1}}, {{1, 5, 1, 2}}},
    {"single element", {{1, 1, 1, 1}}, {{1, 1, 1, 1}}, {{1, 1, 1, 1}}},
    {"big channel bias", {{8, 32, 26, 26}}, {{8, 32, 26, 26}}, {{1, 32, 1, 1}}},
    {"long vector", {{1, 1, 1, 100003}}, {{1, 1, 1, 100003}}, {{1, 1, 1, 100003}}},
    {"long rows, row bias", {{1, 1, 3, 20000}}, {{1, 1, 3, 20000}}, {{1, 1, 1, 20000}}},
};

template <typename T>
T apply(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::Add: return a + b;
    case BinaryOp::Sub: return a - b;
    case BinaryOp::Mul: return a * b;
  }
  return T(0);
}

// out[i0,i1,i2,i3] = a[Σ i·sa] op b[Σ i·sb]: the definition, one element at a time.
template <typename T>
std::vector<T> reference_binary(BinaryOp op, const Dims4& out, const T* a, const Dims4& sa, const T* b,
                                const Dims4& sb) {
  std::vector<T> r;
  for (int64_t i0 = 0; i0 < out.d[0]; ++i0)
    for (int64_t i1 = 0; i1 < out.d[1]; ++i1)
      for (int64_t i2 = 0; i2 < out.d[2]; ++i2)
        for (int64_t i3 = 0; i3 < out.d[3]; ++i3) {
          const T av = a[i0 * sa.d[0] + i1 * sa.d[1] + i2 * sa.d[2] + i3 * sa.d[3]];
          const T bv = b[i0 * sb.d[0] + i1 * sb.d[1] + i2 * sb.d[2] + i3 * sb.d[3]];
          r.push_back(apply(op, av, bv));
        }
  return r;
}

template <typename T>
class ElementwiseTest : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(ElementwiseTest, Types);

// Each element is one operation on the same two inputs, so the match is exact.
TYPED_TEST(ElementwiseTest, BinaryMatchesReferenceForEveryPattern) {
  using T = TypeParam;
  for (const Pattern& p : kPatterns) {
    for (BinaryOp op : {BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul}) {
      SCOPED_TRACE(std::string(p.name) + " op=" + std::to_string(static_cast<int>(op)));
      const auto a = random_vector<T>(count(p.a), 1);
      const auto b = random_vector<T>(count(p.b), 2);
      const Dims4 sa = broadcast_strides(p.a), sb = broadcast_strides(p.b);
      std::vector<T> out(count(p.out));
      binary_forward(op, p.out, a.data(), sa, b.data(), sb, out.data());
      const auto ref = reference_binary(op, p.out, a.data(), sa, b.data(), sb);
      ASSERT_EQ(out, ref);
    }
  }
}

TEST(Elementwise, BinaryInPlaceChannelBias) {
  const Dims4 shape{{3, 33, 5, 7}}, bias_shape{{1, 33, 1, 1}};
  const auto a = random_vector<float>(count(shape), 8);
  const auto bias = random_vector<float>(33, 9);
  std::vector<float> out(a.size()), inplace = a;
  binary_forward(BinaryOp::Add, shape, a.data(), contiguous(shape), bias.data(), broadcast_strides(bias_shape),
                 out.data());
  binary_forward(BinaryOp::Add, shape, inplace.data(), contiguous(shape), bias.data(), broadcast_strides(bias_shape),
                 inplace.data());
  EXPECT_EQ(inplace, out);
}

// a is the transpose of a stored 5×7 matrix: strides {0, 0, 1, 7}.
TEST(Elementwise, BinaryReadsStridedOperand) {
  const Dims4 out_shape{{1, 1, 7, 5}};
  const auto stored = random_vector<float>(35, 3);
  const auto b = random_vector<float>(35, 4);
  const Dims4 sa{{0, 0, 1, 7}}, sb = contiguous(out_shape);
  std::vector<float> out(35);
  binary_forward(BinaryOp::Sub, out_shape, stored.data(), sa, b.data(), sb, out.data());
  EXPECT_EQ(out, reference_binary(BinaryOp::Sub, out_shape, stored.data(), sa, b.data(), sb));
}

// Reference: the same sum in long double over every input element.
// Tolerance: 1e-5·Σ|in| in float, 1e-13·Σ|in| in double, per output element
// (naive summation error is at most (n−1)·u·Σ|x|; our blocked sums do better).
TYPED_TEST(ElementwiseTest, SumToShapeMatchesReferenceForEveryPattern) {
  using T = TypeParam;
  const double tol = std::is_same_v<T, float> ? 1e-5 : 1e-13;
  for (const Pattern& p : kPatterns) {
    for (const Dims4& target : {p.a, p.b}) {
      SCOPED_TRACE(std::string(p.name) + " " + str(p.out) + " -> " + str(target));
      const auto in = random_vector<T>(count(p.out), 5);
      std::vector<T> out(count(target), T(12345));  // garbage that must be overwritten
      sum_to_shape(p.out, in.data(), target, out.data());
      std::vector<long double> ref(count(target), 0), mag(count(target), 0);
      const Dims4 st = broadcast_strides(target);
      int64_t i = 0;
      for (int64_t i0 = 0; i0 < p.out.d[0]; ++i0)
        for (int64_t i1 = 0; i1 < p.out.d[1]; ++i1)
          for (int64_t i2 = 0; i2 < p.out.d[2]; ++i2)
            for (int64_t i3 = 0; i3 < p.out.d[3]; ++i3, ++i) {
              const int64_t o = i0 * st.d[0] + i1 * st.d[1] + i2 * st.d[2] + i3 * st.d[3];
              ref[o] += in[i];
              mag[o] += std::fabs(in[i]);
            }
      for (int64_t o = 0; o < count(target); ++o)
        ASSERT_TRUE(std::fabs(static_cast<double>(out[o] - ref[o])) <= tol * static_cast<double>(mag[o]))
            << "o=" << o << " got " << out[o] << " want " << static_cast<double>(ref[o]);
    }
  }
}

TEST(Elementwise, SumToShapeFullReductionAndEmptyInput) {
  const auto in = random_vector<double>(2 * 3 * 5 * 7, 6);
  double total = 0;
  sum_to_shape(Dims4{{2, 3, 5, 7}}, in.data(), Dims4{{1, 1, 1, 1}}, &total);
  long double ref = 0;
  for (double v : in) ref += v;
  EXPECT_NEAR(total, static_cast<double>(ref), 1e-13 * in.size());

  std::vector<float> out(3, 7.0f);
  sum_to_shape(Dims4{{0, 3, 1, 1}}, static_cast<const float*>(nullptr), Dims4{{1, 3, 1, 1}}, out.data());
  EXPECT_EQ(out, std::vector<float>(3, 0.0f));
}

// A large channel-bias gradient: same bits with 1 and 2 threads.
TEST(Elementwise, SumToShapeIsDeterministicAcrossThreadCounts) {
  const Dims4 in_shape{{16, 32, 26, 26}};
  const auto in = random_vector<float>(count(in_shape), 7);
  for (const Dims4& target : {Dims4{{1, 32, 1, 1}}, Dims4{{1, 1, 1, 26}}, Dims4{{1, 1, 1, 1}}}) {
    SCOPED_TRACE(str(target));
    std::vector<float> one(count(target)), two(count(target));
    const int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    sum_to_shape(in_shape, in.data(), target, one.data());
    omp_set_num_threads(2);
    sum_to_shape(in_shape, in.data(), target, two.data());
    omp_set_num_threads(saved);
    EXPECT_EQ(one, two);
  }
}

TEST(Elementwise, BadShapesThrow) {
  float x[4] = {}, y[4] = {};
  EXPECT_THROW(sum_to_shape(Dims4{{2, 3, 4, 5}}, x, Dims4{{1, 2, 1, 1}}, y), std::invalid_argument);
  EXPECT_THROW(binary_forward(BinaryOp::Add, Dims4{{1, 1, -1, 4}}, x, Dims4{{0, 0, 4, 1}}, y,
                              Dims4{{0, 0, 4, 1}}, y),
               std::invalid_argument);
  EXPECT_THROW(scale(-1, 2.0f, x, y), std::invalid_argument);
  try {
    sum_to_shape(Dims4{{2, 3, 4, 5}}, x, Dims4{{1, 3, 2, 1}}, y);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("[2, 3, 4, 5]"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("dim 2"), std::string::npos) << e.what();
  }
}

TYPED_TEST(ElementwiseTest, BlasOneHelpersMatchReference) {
  using T = TypeParam;
  for (int64_t n : {1, 3, 7, 33, 1000, 40001}) {
    SCOPED_TRACE("n=" + std::to_string(n));
    const auto x = random_vector<T>(n, 10 + n);
    const auto z = random_vector<T>(n, 20 + n);
    const T alpha = T(-0.75);
    std::vector<T> y(n), acc = z, prod(n);
    scale(n, alpha, x.data(), y.data());
    axpy(n, alpha, x.data(), acc.data());
    mul_elementwise(n, x.data(), z.data(), prod.data());
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_EQ(y[i], alpha * x[i]);
      ASSERT_EQ(acc[i], z[i] + alpha * x[i]);
      ASSERT_EQ(prod[i], x[i] * z[i]);
    }
  }
}

}  // namespace
}  // namespace gc::cpu
