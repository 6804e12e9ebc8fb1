// max/avg pool2d kernels against a naive reference loop on odd shapes, tie
// and padding rules, determinism and shape validation.
//
// Max pool is exact (a copy): values and argmax must match bitwise. Avg pool
// tolerance: |got − ref| ≤ tol · Σ|terms| (+ tiny) with tol = 1e-6 for float,
// 1e-14 for double. Outputs start as NaN (argmax as -7), so an element the
// kernel never writes fails; comparisons are written so NaN never passes.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cpu/pool2d.h"

namespace gc::cpu {
namespace {

using idx = std::ptrdiff_t;

std::string describe(const Pool2dShape& s) {
  return "n=" + std::to_string(s.n) + " c=" + std::to_string(s.c) + " h=" + std::to_string(s.h) +
         " w=" + std::to_string(s.w) + " k=" + std::to_string(s.kh) + "x" + std::to_string(s.kw) +
         " stride=" + std::to_string(s.stride_h) + "x" + std::to_string(s.stride_w) +
         " pad=" + std::to_string(s.pad_h) + "x" + std::to_string(s.pad_w);
}

idx x_size(const Pool2dShape& s) { return idx(s.n) * s.c * s.h * s.w; }
idx y_size(const Pool2dShape& s) { return idx(s.n) * s.c * s.out_h() * s.out_w(); }

// Calls visit(plane, y_index_in_plane, x_index_in_plane) for every real
// (non-padding) input element of every window, in row-major window order.
template <typename Visit>
void for_each_window_element(const Pool2dShape& s, Visit visit) {
  const int oh = s.out_h(), ow = s.out_w();
  for (idx pl = 0; pl < idx(s.n) * s.c; ++pl)
    for (int oy = 0; oy < oh; ++oy)
      for (int ox = 0; ox < ow; ++ox)
        for (int ki = 0; ki < s.kh; ++ki)
          for (int kj = 0; kj < s.kw; ++kj) {
            const int iy = oy * s.stride_h - s.pad_h + ki, ix = ox * s.stride_w - s.pad_w + kj;
            if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w) continue;
            visit(pl, idx(oy) * ow + ox, idx(iy) * s.w + ix);
          }
}

template <typename T>
struct MaxReference {
  std::vector<T> y;
  std::vector<int32_t> argmax;
};

// First maximum in scan order; the first NaN wins.
template <typename T>
MaxReference<T> max_reference(const Pool2dShape& s, const std::vector<T>& x) {
  const idx out_plane = idx(s.out_h()) * s.out_w(), in_plane = idx(s.h) * s.w;
  MaxReference<T> r{std::vector<T>(y_size(s)), std::vector<int32_t>(y_size(s), -1)};
  for_each_window_element(s, [&](idx pl, idx yo, idx xi) {
    const idx out = pl * out_plane + yo;
    const T v = x[pl * in_plane + xi];
    const bool first = r.argmax[out] < 0;
    if (first || (!std::isnan(r.y[out]) && (std::isnan(v) || v > r.y[out]))) {
      r.y[out] = v;
      r.argmax[out] = int32_t(xi);
    }
  });
  return r;
}

template <typename T>
std::vector<T> random_vector(idx n, std::mt19937& rng) {
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  std::vector<T> v(n);
  for (auto& e : v) e = T(dist(rng));
  return v;
}

// Few distinct values, so windows hold ties.
template <typename T>
std::vector<T> tied_vector(idx n, std::mt19937& rng) {
  std::uniform_int_distribution<int> dist(-2, 1);
  std::vector<T> v(n);
  for (auto& e : v) e = T(dist(rng));
  return v;
}

template <typename T>
std::vector<T> nan_vector(idx n) {
  return std::vector<T>(n, std::numeric_limits<T>::quiet_NaN());
}

template <typename T>
void expect_bitwise_equal(const std::vector<T>& got, const std::vector<T>& want, const char* what) {
  ASSERT_EQ(got.size(), want.size());
  int failures = 0;
  for (size_t e = 0; e < got.size() && failures < 5; ++e)
    if (std::memcmp(&got[e], &want[e], sizeof(T)) != 0) {
      ++failures;
      ADD_FAILURE() << what << "[" << e << "] = " << got[e] << ", reference " << want[e];
    }
}

template <typename T>
void expect_close(const std::vector<T>& got, const std::vector<double>& ref,
                  const std::vector<double>& magnitude, double tol, const char* what) {
  ASSERT_EQ(got.size(), ref.size());
  int failures = 0;
  for (size_t e = 0; e < got.size() && failures < 5; ++e) {
    const double err = std::fabs(double(got[e]) - ref[e]);
    const double bound = tol * magnitude[e] + 1e-30;
    if (!(err <= bound)) {
      ++failures;
      ADD_FAILURE() << what << "[" << e << "] = " << got[e] << ", reference " << ref[e]
                    << " (error " << err << " > tolerance " << bound << ")";
    }
  }
}

template <typename T>
void check_max_pool(const Pool2dShape& s, const std::vector<T>& x, std::mt19937& rng) {
  const MaxReference<T> ref = max_reference(s, x);
  auto y = nan_vector<T>(y_size(s));
  std::vector<int32_t> argmax(y_size(s), -7);
  max_pool2d_forward(s, x.data(), y.data(), argmax.data());
  expect_bitwise_equal(y, ref.y, "max y");
  expect_bitwise_equal(argmax, ref.argmax, "argmax");
  auto y_only = nan_vector<T>(y_size(s));  // no arg-max asked for (inference)
  max_pool2d_forward<T>(s, x.data(), y_only.data(), nullptr);
  expect_bitwise_equal(y_only, ref.y, "max y without argmax");

  const auto dy = random_vector<T>(y_size(s), rng);
  const idx out_plane = idx(s.out_h()) * s.out_w(), in_plane = idx(s.h) * s.w;
  std::vector<double> dx_ref(x_size(s), 0.0), magnitude(x_size(s), 0.0);
  for (idx o = 0; o < y_size(s); ++o) {
    const idx at = (o / out_plane) * in_plane + ref.argmax[o];
    dx_ref[at] += double(dy[o]);
    magnitude[at] += std::fabs(double(dy[o]));
  }
  auto dx = nan_vector<T>(x_size(s));
  max_pool2d_backward(s, dy.data(), ref.argmax.data(), dx.data());
  expect_close(dx, dx_ref, magnitude, sizeof(T) == 4 ? 1e-6 : 1e-14, "max dx");
}

template <typename T>
void check_avg_pool(const Pool2dShape& s, const std::vector<T>& x, std::mt19937& rng) {
  const double area = double(s.kh) * s.kw;
  const double tol = sizeof(T) == 4 ? 1e-6 : 1e-14;
  const idx out_plane = idx(s.out_h()) * s.out_w(), in_plane = idx(s.h) * s.w;
  std::vector<double> y_ref(y_size(s), 0.0), y_mag(y_size(s), 0.0);
  for_each_window_element(s, [&](idx pl, idx yo, idx xi) {
    const double term = double(x[pl * in_plane + xi]) / area;
    y_ref[pl * out_plane + yo] += term;
    y_mag[pl * out_plane + yo] += std::fabs(term);
  });
  auto y = nan_vector<T>(y_size(s));
  avg_pool2d_forward(s, x.data(), y.data());
  expect_close(y, y_ref, y_mag, tol, "avg y");

  const auto dy = random_vector<T>(y_size(s), rng);
  std::vector<double> dx_ref(x_size(s), 0.0), dx_mag(x_size(s), 0.0);
  for_each_window_element(s, [&](idx pl, idx yo, idx xi) {
    const double term = double(dy[pl * out_plane + yo]) / area;
    dx_ref[pl * in_plane + xi] += term;
    dx_mag[pl * in_plane + xi] += std::fabs(term);
  });
  auto dx = nan_vector<T>(x_size(s));
  avg_pool2d_backward(s, dy.data(), dx.data());
  expect_close(dx, dx_ref, dx_mag, tol, "avg dx");
}

std::vector<Pool2dShape> sweep_shapes() {
  std::vector<Pool2dShape> shapes;
  for (int hw : {1, 3, 7, 13, 28})
    for (int k : {1, 2, 3})
      for (int stride : {1, 2})
        for (int pad : {0, 1})
          for (int n : {1, 3})
            for (int c : {1, 5}) {
              Pool2dShape s{n, c, hw, hw, k, k, stride, stride, pad, pad};
              if (pad < k && s.out_h() >= 1) shapes.push_back(s);
            }
  shapes.push_back({3, 3, 7, 13, 3, 2, 2, 1, 1, 0});
  shapes.push_back({1, 5, 13, 7, 2, 3, 1, 3, 0, 2});
  shapes.push_back({16, 8, 28, 28, 3, 3, 2, 2, 1, 1});  // large enough to run on 2 threads
  return shapes;
}

template <typename T>
void run_sweep(unsigned seed) {
  for (const auto& s : sweep_shapes()) {
    SCOPED_TRACE(describe(s) + " seed=" + std::to_string(seed));
    std::mt19937 rng(seed++);
    const auto x = random_vector<T>(x_size(s), rng);
    check_max_pool(s, x, rng);
    check_max_pool(s, tied_vector<T>(x_size(s), rng), rng);
    check_avg_pool(s, x, rng);
  }
}

TEST(Pool2d, FloatMatchesReferenceOnOddShapes) {
  omp_set_num_threads(2);
  run_sweep<float>(3000);
}
TEST(Pool2d, DoubleMatchesReferenceOnOddShapes) {
  omp_set_num_threads(2);
  run_sweep<double>(4000);
}

TEST(Pool2d, PaddingNeverWinsMaxPool) {
  const Pool2dShape s{1, 1, 3, 3, 3, 3, 1, 1, 1, 1};
  const std::vector<float> x(9, -5.0f);
  std::vector<float> y(9);
  std::vector<int32_t> argmax(9);
  max_pool2d_forward(s, x.data(), y.data(), argmax.data());
  for (int o = 0; o < 9; ++o) {
    EXPECT_EQ(y[o], -5.0f);
    EXPECT_GE(argmax[o], 0);
  }
  EXPECT_EQ(argmax[0], 0);  // first of the tied real elements
  EXPECT_EQ(argmax[8], 4);  // window rows 1..2, cols 1..2 starts at index 4
}

TEST(Pool2d, MaxPoolPropagatesNaN) {
  const Pool2dShape s{1, 1, 2, 2, 2, 2, 2, 2};
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> x{1.0f, nan, 3.0f, nan};
  float y = 0;
  int32_t argmax = -1;
  max_pool2d_forward(s, x.data(), &y, &argmax);
  EXPECT_TRUE(std::isnan(y));
  EXPECT_EQ(argmax, 1);
}

// The 2×2 stride-2 case runs four windows at a time: NaNs and ties placed in
// every window position, on rows long enough for vector and tail columns,
// with and without arg-max.
TEST(Pool2d, MaxPoolNaNAndTiesInEveryLane) {
  const Pool2dShape s{2, 3, 6, 22, 2, 2, 2, 2};
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::mt19937 rng(11);
  std::vector<float> x = tied_vector<float>(x_size(s), rng);
  for (size_t e = 0; e < x.size(); e += 7) x[e] = nan;
  std::vector<float> y(y_size(s));
  std::vector<int32_t> argmax(y_size(s), -7);
  max_pool2d_forward(s, x.data(), y.data(), argmax.data());
  const MaxReference<float> ref = max_reference(s, x);
  expect_bitwise_equal(y, ref.y, "max y");
  expect_bitwise_equal(argmax, ref.argmax, "argmax");
  std::vector<float> y_only(y_size(s));  // the value-only path reads past row ends
  max_pool2d_forward<float>(s, x.data(), y_only.data(), nullptr);
  expect_bitwise_equal(y_only, ref.y, "max y without argmax");
}

TEST(Pool2d, RepeatedRunsAreBitwiseIdentical) {
  omp_set_num_threads(2);
  const Pool2dShape s{16, 8, 28, 28, 3, 3, 2, 2, 1, 1};  // large enough to run on 2 threads
  std::mt19937 rng(9);
  const auto x = random_vector<float>(x_size(s), rng);
  const auto dy = random_vector<float>(y_size(s), rng);
  auto run = [&] {
    std::vector<float> y(y_size(s)), dx(x_size(s)), ya(y_size(s)), dxa(x_size(s));
    std::vector<int32_t> argmax(y_size(s));
    max_pool2d_forward(s, x.data(), y.data(), argmax.data());
    max_pool2d_backward(s, dy.data(), argmax.data(), dx.data());
    avg_pool2d_forward(s, x.data(), ya.data());
    avg_pool2d_backward(s, dy.data(), dxa.data());
    return std::vector<std::vector<float>>{y, dx, ya, dxa};
  };
  const auto first = run();
  for (int repeat = 0; repeat < 3; ++repeat) {
    const auto again = run();
    for (size_t t = 0; t < first.size(); ++t)
      ASSERT_EQ(0, std::memcmp(first[t].data(), again[t].data(), sizeof(float) * first[t].size()))
          << "output " << t << " differs on repeat " << repeat;
  }
}

void expect_invalid(const Pool2dShape& s, const std::string& needle) {
  SCOPED_TRACE(describe(s));
  std::vector<float> buf(4096, 0.0f);
  std::vector<int32_t> argmax(4096, 0);
  try {
    max_pool2d_forward(s, buf.data(), buf.data(), argmax.data());
    ADD_FAILURE() << "no exception";
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("max_pool2d_forward"), std::string::npos) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
  }
  EXPECT_THROW(max_pool2d_backward(s, buf.data(), argmax.data(), buf.data()),
               std::invalid_argument);
  EXPECT_THROW(avg_pool2d_forward(s, buf.data(), buf.data()), std::invalid_argument);
  EXPECT_THROW(avg_pool2d_backward(s, buf.data(), buf.data()), std::invalid_argument);
}

TEST(Pool2d, InvalidShapesThrow) {
  expect_invalid({0, 1, 4, 4, 2, 2, 2, 2}, "n=0");
  expect_invalid({1, 1, 4, 0, 2, 2, 2, 2}, "w=0");
  expect_invalid({1, 1, 4, 4, 0, 2, 2, 2}, "kernel=0x2");
  expect_invalid({1, 1, 4, 4, 2, 2, 0, 2}, "stride=0x2");
  expect_invalid({1, 1, 4, 4, 2, 2, 2, 2, 2, 0}, "smaller than the kernel");
  expect_invalid({1, 1, 4, 4, 2, 2, 2, 2, 0, -1}, "pad=0x-1");
  expect_invalid({1, 1, 3, 4, 5, 2, 1, 1}, "does not fit");
  expect_invalid({1, 1, 1 << 30, 4, 1 << 30, 2, 1, 1, (1 << 30) - 1, 0},
                 "padded input exceeds int range");
}

TEST(Pool2d, OutOfRangeArgmaxThrows) {
  const Pool2dShape s{1, 2, 4, 4, 2, 2, 2, 2};
  std::vector<float> dy(8, 1.0f), dx(32);
  std::vector<int32_t> argmax(8, 0);
  argmax[5] = 16;  // one past the 4×4 plane
  EXPECT_THROW(max_pool2d_backward(s, dy.data(), argmax.data(), dx.data()), std::invalid_argument);
  argmax[5] = -1;
  EXPECT_THROW(max_pool2d_backward(s, dy.data(), argmax.data(), dx.data()), std::invalid_argument);
}

TEST(Pool2d, NullPointersThrow) {
  const Pool2dShape s{1, 1, 2, 2, 2, 2, 2, 2};
  float v[4] = {};
  int32_t a[1] = {};
  EXPECT_THROW(max_pool2d_forward<float>(s, nullptr, v, a), std::invalid_argument);
  EXPECT_THROW(max_pool2d_forward<float>(s, v, nullptr, a), std::invalid_argument);
  EXPECT_THROW(max_pool2d_backward<float>(s, v, nullptr, v), std::invalid_argument);
  EXPECT_THROW(avg_pool2d_forward<float>(s, v, nullptr), std::invalid_argument);
  EXPECT_THROW(avg_pool2d_backward<float>(s, nullptr, v), std::invalid_argument);
}

}  // namespace
}  // namespace gc::cpu
