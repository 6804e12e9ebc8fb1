// The conv2d kernel tests' reference (tests/kernels/test_conv2d*.cpp): the
// convolution sum straight from its definition in double, with Σ|terms| per
// element for the tolerance:
//   |got − ref| ≤ tol · Σ|terms| (+ tiny), tol = 1e-5 for float, 1e-12 for double.
// Outputs start as NaN, so an element a kernel never writes fails; the
// comparison is written so NaN never passes.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/conv2d.h"

namespace gc::cpu::test {

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

// largest_share > 0 adds largest_share · max_e Σ|terms| to every element's
// scale: for methods whose rounding depends on neighbouring values, not only
// on the element's own terms (Winograd's transforms mix a whole tile).
template <typename T>
void expect_close(const std::vector<T>& got, const Reference& ref, const char* what,
                  double largest_share = 0) {
  ASSERT_EQ(got.size(), ref.value.size());
  double largest = 0;
  for (double m : ref.magnitude) largest = std::max(largest, m);
  int failures = 0;
  for (size_t e = 0; e < got.size() && failures < 5; ++e) {
    const double err = std::fabs(double(got[e]) - ref.value[e]);
    const double tol = tolerance<T>() * (ref.magnitude[e] + largest_share * largest) + 1e-30;
    if (!(err <= tol)) {
      ++failures;
      ADD_FAILURE() << what << "[" << e << "] = " << got[e] << ", reference " << ref.value[e]
                    << " (error " << err << " > tolerance " << tol << ")";
    }
  }
}

// The three passes under test (bias gradient: conv2d_backward_bias always).
template <typename T>
struct ConvPasses {
  void (*forward)(const Conv2dShape&, const T*, const T*, const T*, T*) = conv2d_forward<T>;
  // Null for a forward-only method: those passes are not checked.
  void (*backward_input)(const Conv2dShape&, const T*, const T*, T*) = conv2d_backward_input<T>;
  void (*backward_weight)(const Conv2dShape&, const T*, const T*, T*) = conv2d_backward_weight<T>;
  double largest_share = 0;  // see expect_close
};

template <typename T>
void check_against_reference(const Conv2dShape& s, unsigned seed, ConvPasses<T> passes = {}) {
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
  passes.forward(s, x.data(), w.data(), bias.data(), y.data());
  expect_close(y, y_ref, "y", passes.largest_share);

  if (passes.backward_input) {
    auto dx = nan_vector<T>(x_size(s));
    passes.backward_input(s, dy.data(), w.data(), dx.data());
    expect_close(dx, dx_ref, "dx", passes.largest_share);
  }
  if (passes.backward_weight) {
    auto dw = nan_vector<T>(w_size(s));
    passes.backward_weight(s, x.data(), dy.data(), dw.data());
    expect_close(dw, dw_ref, "dw", passes.largest_share);
  }

  auto db = nan_vector<T>(s.c_out);
  conv2d_backward_bias(s, dy.data(), db.data());
  expect_close(db, db_ref, "db");
}

}  // namespace gc::cpu::test
