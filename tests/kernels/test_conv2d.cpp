// conv2d kernels against a naive reference loop on odd shapes (sizes 1..28,
// stride 1/2, padding 0/1, dilation 1/2, batch 1/3, 1/3/5 channels), the
// determinism contract, and shape validation.
//
// Tolerance per output element: |got − ref| ≤ tol · Σ|terms| (+ tiny), where
// Σ|terms| is the sum of the magnitudes of the products that make up that
// element (so it scales with how much is summed): tol = 1e-5 for float,
// 1e-12 for double. Outputs start as NaN, so an element the kernel never
// writes fails; the comparison is written so NaN never passes.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cpu/conv2d.h"

namespace gc::cpu {
namespace {

using idx = std::ptrdiff_t;

std::string describe(const Conv2dShape& s) {
  return "n=" + std::to_string(s.n) + " c_in=" + std::to_string(s.c_in) +
         " c_out=" + std::to_string(s.c_out) + " h=" + std::to_string(s.h) +
         " w=" + std::to_string(s.w) + " k=" + std::to_string(s.kh) + "x" + std::to_string(s.kw) +
         " stride=" + std::to_string(s.stride_h) + "x" + std::to_string(s.stride_w) +
         " pad=" + std::to_string(s.pad_h) + "x" + std::to_string(s.pad_w) +
         " dil=" + std::to_string(s.dil_h) + "x" + std::to_string(s.dil_w);
}

idx x_size(const Conv2dShape& s) { return idx(s.n) * s.c_in * s.h * s.w; }
idx w_size(const Conv2dShape& s) { return idx(s.c_out) * s.c_in * s.kh * s.kw; }
idx y_size(const Conv2dShape& s) { return idx(s.n) * s.c_out * s.out_h() * s.out_w(); }

// Calls visit(x_index, w_index, y_index) for every product in the convolution
// sum, straight from the definition in conv2d.h.
template <typename Visit>
void for_each_tap(const Conv2dShape& s, Visit visit) {
  const int oh = s.out_h(), ow = s.out_w();
  for (int i = 0; i < s.n; ++i)
    for (int co = 0; co < s.c_out; ++co)
      for (int oy = 0; oy < oh; ++oy)
        for (int ox = 0; ox < ow; ++ox)
          for (int ci = 0; ci < s.c_in; ++ci)
            for (int ki = 0; ki < s.kh; ++ki)
              for (int kj = 0; kj < s.kw; ++kj) {
                const int iy = oy * s.stride_h - s.pad_h + ki * s.dil_h;
                const int ix = ox * s.stride_w - s.pad_w + kj * s.dil_w;
                if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w) continue;
                visit(((idx(i) * s.c_in + ci) * s.h + iy) * s.w + ix,
                      ((idx(co) * s.c_in + ci) * s.kh + ki) * s.kw + kj,
                      ((idx(i) * s.c_out + co) * oh + oy) * ow + ox);
              }
}

// Reference result in double plus Σ|terms| per element.
struct Reference {
  std::vector<double> value, magnitude;
  explicit Reference(idx n) : value(n, 0.0), magnitude(n, 0.0) {}
  void add(idx at, double term) {
    value[at] += term;
    magnitude[at] += std::fabs(term);
  }
};

template <typename T>
std::vector<T> random_vector(idx n, std::mt19937& rng) {
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  std::vector<T> v(n);
  for (auto& e : v) e = T(dist(rng));
  return v;
}

template <typename T>
std::vector<T> nan_vector(idx n) {
  return std::vector<T>(n, std::numeric_limits<T>::quiet_NaN());
}

template <typename T>
double tolerance() {
  return sizeof(T) == sizeof(float) ? 1e-5 : 1e-12;
}

template <typename T>
void expect_close(const std::vector<T>& got, const Reference& ref, const char* what) {
  ASSERT_EQ(got.size(), ref.value.size());
  int failures = 0;
  for (size_t e = 0; e < got.size() && failures < 5; ++e) {
    const double err = std::fabs(double(got[e]) - ref.value[e]);
    const double tol = tolerance<T>() * ref.magnitude[e] + 1e-30;
    if (!(err <= tol)) {
      ++failures;
      ADD_FAILURE() << what << "[" << e << "] = " << got[e] << ", reference " << ref.value[e]
                    << " (error " << err << " > tolerance " << tol << ")";
    }
  }
}

template <typename T>
void check_against_reference(const Conv2dShape& s, unsigned seed) {
  SCOPED_TRACE(describe(s) + " seed=" + std::to_string(seed));
  std::mt19937 rng(seed);
  const auto x = random_vector<T>(x_size(s), rng);
  const auto w = random_vector<T>(w_size(s), rng);
  const auto bias = random_vector<T>(s.c_out, rng);
  const auto dy = random_vector<T>(y_size(s), rng);

  Reference y_ref(y_size(s)), dx_ref(x_size(s)), dw_ref(w_size(s)), db_ref(s.c_out);
  const idx ohw = idx(s.out_h()) * s.out_w();
  for (idx e = 0; e < y_size(s); ++e) {
    y_ref.add(e, double(bias[(e / ohw) % s.c_out]));
    db_ref.add((e / ohw) % s.c_out, double(dy[e]));
  }
  for_each_tap(s, [&](idx xi, idx wi, idx yi) {
    y_ref.add(yi, double(x[xi]) * double(w[wi]));
    dx_ref.add(xi, double(dy[yi]) * double(w[wi]));
    dw_ref.add(wi, double(x[xi]) * double(dy[yi]));
  });

  auto y = nan_vector<T>(y_size(s));
  conv2d_forward(s, x.data(), w.data(), bias.data(), y.data());
  expect_close(y, y_ref, "y");

  auto dx = nan_vector<T>(x_size(s));
  conv2d_backward_input(s, dy.data(), w.data(), dx.data());
  expect_close(dx, dx_ref, "dx");

  auto dw = nan_vector<T>(w_size(s));
  conv2d_backward_weight(s, x.data(), dy.data(), dw.data());
  expect_close(dw, dw_ref, "dw");

  auto db = nan_vector<T>(s.c_out);
  conv2d_backward_bias(s, dy.data(), db.data());
  expect_close(db, db_ref, "db");
}

// The odd-shape sweep: every combination that yields an output.
std::vector<Conv2dShape> sweep_shapes() {
  std::vector<Conv2dShape> shapes;
  const int channels[][2] = {{1, 3}, {3, 5}, {5, 1}};
  for (int hw : {1, 3, 7, 13, 28})
    for (int k : {1, 3})
      for (int stride : {1, 2})
        for (int pad : {0, 1})
          for (int dil : {1, 2})
            for (int n : {1, 3})
              for (auto& ch : channels) {
                Conv2dShape s{n, ch[0], hw, hw, ch[1], k, k, stride, stride, pad, pad, dil, dil};
                if (s.out_h() >= 1 && s.out_w() >= 1) shapes.push_back(s);
              }
  // Rectangular images and kernels, mixed strides/padding/dilation per axis.
  shapes.push_back({3, 3, 7, 13, 5, 3, 1, 2, 1, 1, 0, 1, 1});
  shapes.push_back({1, 5, 13, 7, 3, 1, 3, 1, 2, 0, 1, 2, 1});
  shapes.push_back({3, 1, 28, 3, 5, 5, 2, 2, 1, 1, 1, 1, 2});
  // Many images per GEMM block and a partial last block (3×3 outputs).
  shapes.push_back({64, 3, 5, 5, 4, 3, 3});
  // Large enough for the batch-parallel path: one image per GEMM, and
  // several images per GEMM with a partial last block in each thread.
  shapes.push_back({8, 5, 28, 28, 7, 3, 3, 1, 1, 1, 1});
  shapes.push_back({64, 5, 7, 7, 6, 3, 3});
  return shapes;
}

TEST(Conv2d, FloatMatchesReferenceOnOddShapes) {
  omp_set_num_threads(2);
  unsigned seed = 1000;
  for (const auto& s : sweep_shapes()) check_against_reference<float>(s, seed++);
}

TEST(Conv2d, DoubleMatchesReferenceOnOddShapes) {
  omp_set_num_threads(2);
  unsigned seed = 2000;
  for (const auto& s : sweep_shapes()) check_against_reference<double>(s, seed++);
}

TEST(Conv2d, NullBiasMeansNoBias) {
  // 20×20 outputs: one image per GEMM, written straight into y; 7×7 outputs:
  // several images per GEMM, scattered into y.
  for (const Conv2dShape& s : {Conv2dShape{2, 3, 20, 20, 5, 3, 3, 1, 1, 1, 1},
                               Conv2dShape{3, 3, 7, 7, 5, 3, 3, 1, 1, 1, 1}}) {
    SCOPED_TRACE(describe(s));
    std::mt19937 rng(7);
    const auto x = random_vector<float>(x_size(s), rng);
    const auto w = random_vector<float>(w_size(s), rng);
    const std::vector<float> zero_bias(s.c_out, 0.0f);
    auto with_zero = nan_vector<float>(y_size(s)), without = nan_vector<float>(y_size(s));
    conv2d_forward(s, x.data(), w.data(), zero_bias.data(), with_zero.data());
    conv2d_forward<float>(s, x.data(), w.data(), nullptr, without.data());
    for (size_t e = 0; e < without.size(); ++e)
      ASSERT_TRUE(without[e] == with_zero[e]) << "y[" << e << "] " << without[e] << " vs "
                                              << with_zero[e];
  }
}

// Same inputs, same thread count → bitwise identical outputs, on a batch
// large enough to use both the batch-parallel path and multi-image blocks.
TEST(Conv2d, RepeatedRunsAreBitwiseIdentical) {
  omp_set_num_threads(2);
  const Conv2dShape s{13, 5, 13, 13, 7, 3, 3, 1, 1, 1, 1};
  std::mt19937 rng(42);
  const auto x = random_vector<float>(x_size(s), rng);
  const auto w = random_vector<float>(w_size(s), rng);
  const auto b = random_vector<float>(s.c_out, rng);
  const auto dy = random_vector<float>(y_size(s), rng);
  auto run = [&] {
    std::vector<float> y(y_size(s)), dx(x_size(s)), dw(w_size(s)), db(s.c_out);
    conv2d_forward(s, x.data(), w.data(), b.data(), y.data());
    conv2d_backward_input(s, dy.data(), w.data(), dx.data());
    conv2d_backward_weight(s, x.data(), dy.data(), dw.data());
    conv2d_backward_bias(s, dy.data(), db.data());
    return std::vector<std::vector<float>>{y, dx, dw, db};
  };
  const auto first = run();
  for (int repeat = 0; repeat < 3; ++repeat) {
    const auto again = run();
    for (size_t t = 0; t < first.size(); ++t)
      ASSERT_EQ(0, std::memcmp(first[t].data(), again[t].data(), sizeof(float) * first[t].size()))
          << "output " << t << " differs on repeat " << repeat;
  }
}

void expect_invalid(const Conv2dShape& s, const std::string& needle) {
  SCOPED_TRACE(describe(s));
  std::vector<float> buf(1 << 16, 0.0f);
  try {
    conv2d_forward(s, buf.data(), buf.data(), buf.data(), buf.data());
    ADD_FAILURE() << "no exception";
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("conv2d_forward"), std::string::npos) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
  }
  EXPECT_THROW(conv2d_backward_input(s, buf.data(), buf.data(), buf.data()),
               std::invalid_argument);
  EXPECT_THROW(conv2d_backward_weight(s, buf.data(), buf.data(), buf.data()),
               std::invalid_argument);
  EXPECT_THROW(conv2d_backward_bias(s, buf.data(), buf.data()), std::invalid_argument);
}

TEST(Conv2d, InvalidShapesThrow) {
  expect_invalid({0, 1, 5, 5, 1, 3, 3}, "n=0");
  expect_invalid({1, 0, 5, 5, 1, 3, 3}, "c_in=0");
  expect_invalid({1, 1, 5, 5, -2, 3, 3}, "c_out=-2");
  expect_invalid({1, 1, 5, 5, 1, 0, 3}, "kernel=0x3");
  expect_invalid({1, 1, 5, 5, 1, 3, 3, 0, 1}, "stride=0x1");
  expect_invalid({1, 1, 5, 5, 1, 3, 3, 1, 1, -1, 0}, "pad=-1x0");
  expect_invalid({1, 1, 5, 5, 1, 3, 3, 1, 1, 0, 0, 1, 0}, "dilation=1x0");
  expect_invalid({1, 1, 2, 5, 1, 3, 3}, "does not fit");             // 3×3 on 2×5
  expect_invalid({1, 1, 5, 5, 1, 3, 3, 1, 1, 0, 0, 3, 1}, "does not fit");  // dilated to 7
  expect_invalid({1, 1 << 16, 5, 5, 1 << 16, 3, 3}, "exceed int range");
  expect_invalid({1, 1, 5, 5, 1, 3, 3, 1, 1, 1 << 30, 0}, "padded input exceeds int range");
}

TEST(Conv2d, NullPointersThrow) {
  const Conv2dShape s{1, 1, 3, 3, 1, 3, 3};
  std::vector<float> buf(16, 0.0f);
  EXPECT_THROW(conv2d_forward<float>(s, nullptr, buf.data(), nullptr, buf.data()),
               std::invalid_argument);
  EXPECT_THROW(conv2d_forward<float>(s, buf.data(), buf.data(), nullptr, nullptr),
               std::invalid_argument);
  EXPECT_THROW(conv2d_backward_input<float>(s, buf.data(), nullptr, buf.data()),
               std::invalid_argument);
  EXPECT_THROW(conv2d_backward_weight<float>(s, buf.data(), buf.data(), nullptr),
               std::invalid_argument);
  EXPECT_THROW(conv2d_backward_bias<float>(s, nullptr, buf.data()), std::invalid_argument);
}

TEST(Conv2d, OutputSizeFollowsFloorFormula) {
  // floor((h + 2·pad − dil·(k − 1) − 1) / stride) + 1
  const Conv2dShape s{1, 1, 28, 13, 1, 3, 3, 2, 3, 1, 0, 2, 1};
  EXPECT_EQ(s.out_h(), (28 + 2 - 2 * 2 - 1) / 2 + 1);  // 13
  EXPECT_EQ(s.out_w(), (13 + 0 - 1 * 2 - 1) / 3 + 1);  // 4
  const Conv2dShape too_small{1, 1, 2, 2, 1, 3, 3};
  EXPECT_EQ(too_small.out_h(), 0);
}

}  // namespace
}  // namespace gc::cpu
