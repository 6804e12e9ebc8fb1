// Every op's backward against central finite differences in double precision.
// Tolerance: h = 1e-6, |analytic − numeric| ≤ 1e-7 + 1e-5·max(|analytic|, |numeric|)
// (the O(h²) truncation and rounding errors are ~1e-9 here).
// Each case draws fresh random inputs; its seed is printed on failure and can
// be replayed with GRADCORE_TEST_SEED.
#include <gtest/gtest.h>

#include <functional>
#include <vector>

#include "engine/autograd.h"
#include "engine/gradcheck.h"
#include "engine/ops.h"
#include "tests/engine/random.h"

namespace gc {
namespace {

struct OpCase {
  std::string name;
  std::vector<Shape> input_shapes;
  std::function<Tensor(const std::vector<Tensor>&)> forward;
  double avoid_near_zero = 0;  // keep inputs off kinks (relu, max pooling)
};

// L = Σ forward(inputs) ⊙ R with a fixed random R, so every output element
// gets a distinct upstream gradient.
void check(const OpCase& c) {
  uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("op case '" + c.name + "', seed " + std::to_string(seed));
  cpu::Rng rng(seed);
  std::vector<Tensor> inputs;
  for (size_t i = 0; i < c.input_shapes.size(); ++i) {
    Tensor t = test::random_tensor(c.input_shapes[i], rng, DType::F64, -1, 1, c.avoid_near_zero);
    t.requires_grad_().set_name("input " + std::to_string(i));
    inputs.push_back(t);
  }
  Tensor probe_output = c.forward(inputs);
  Tensor weights = test::random_tensor(probe_output.shape(), rng);
  auto loss = [&] { return sum(mul(c.forward(inputs), weights)); };
  for (const GradcheckResult& r : gradcheck(loss, inputs)) {
    EXPECT_TRUE(r.passed) << r.name << " " << r.shape.str() << ": worst element " << r.worst_index
                          << " analytic " << r.worst_analytic << " numeric " << r.worst_numeric
                          << " (max abs error " << r.max_abs_error << ")";
    EXPECT_EQ(r.checked, r.shape.numel());
  }
}

TEST(Gradcheck, Matmul) {
  for (auto [m, k, n] : std::vector<std::array<int64_t, 3>>{{1, 1, 1}, {3, 7, 5}, {7, 1, 33}, {4, 33, 2}})
    check({"matmul", {{m, k}, {k, n}}, [](auto& in) { return matmul(in[0], in[1]); }});
}

TEST(Gradcheck, Linear) {
  for (auto [n, in, out] : std::vector<std::array<int64_t, 3>>{{1, 1, 1}, {3, 7, 5}, {5, 33, 3}}) {
    check({"linear+bias", {{n, in}, {out, in}, {out}}, [](auto& v) { return linear(v[0], v[1], v[2]); }});
    check({"linear", {{n, in}, {out, in}}, [](auto& v) { return linear(v[0], v[1], Tensor()); }});
  }
}

TEST(Gradcheck, Conv2d) {
  struct C { int64_t n, c_in, h, w, c_out, k; Conv2dOptions o; };
  for (const C& c : std::vector<C>{{1, 1, 5, 5, 1, 3, {}},
                                   {2, 3, 7, 6, 4, 3, {.stride = 2, .padding = 1}},
                                   {3, 2, 7, 7, 3, 3, {.stride = 1, .padding = 0, .dilation = 2}},
                                   {1, 5, 4, 3, 2, 1, {}},
                                   {2, 1, 1, 1, 3, 1, {.stride = 1, .padding = 1}},
                                   {1, 2, 9, 9, 2, 5, {.stride = 3, .padding = 2}},
                                   // 3×3, stride 1, ≥ 8 channels, ≥ 16 images, ≥ 32
                                   // tiles: the Winograd path of both passes (kernels/cpu/conv2d.cpp),
                                   // F(4×4) tiles (6×7 output), then F(2×2) (2×6 output).
                                   {16, 8, 6, 7, 8, 3, {.stride = 1, .padding = 1}},
                                   {22, 8, 4, 8, 8, 3, {}}}) {
    Conv2dOptions o = c.o;
    check({"conv2d", {{c.n, c.c_in, c.h, c.w}, {c.c_out, c.c_in, c.k, c.k}, {c.c_out}},
           [o](auto& v) { return conv2d(v[0], v[1], v[2], o); }});
  }
  check({"conv2d no bias", {{2, 3, 5, 5}, {2, 3, 3, 3}}, [](auto& v) { return conv2d(v[0], v[1], Tensor()); }});
  // A kernel, stride, padding and dilation that differ between the axes.
  check({"conv2d per axis", {{2, 2, 9, 8}, {3, 2, 3, 2}, {3}}, [](auto& v) {
           return conv2d(v[0], v[1], v[2], {.stride = {2, 1}, .padding = {1, 2}, .dilation = {1, 3}});
         }});
}

TEST(Gradcheck, Pooling) {
  struct P { Shape x; Pool2dOptions o; };
  for (const P& p : std::vector<P>{{{1, 1, 4, 4}, {.kernel = 2}},
                                   {{2, 3, 7, 7}, {.kernel = 2}},
                                   {{1, 2, 7, 5}, {.kernel = 3, .stride = 2}},
                                   {{3, 1, 5, 5}, {.kernel = 3, .stride = 1, .padding = 1}},
                                   {{2, 2, 7, 6}, {.kernel = {2, 3}, .stride = {1, 2}, .padding = {1, 1}}},
                                   {{1, 1, 1, 1}, {.kernel = 1}}}) {
    Pool2dOptions o = p.o;
    check({"max_pool2d", {p.x}, [o](auto& v) { return max_pool2d(v[0], o); }, 1e-3});
    check({"avg_pool2d", {p.x}, [o](auto& v) { return avg_pool2d(v[0], o); }});
  }
}

TEST(Gradcheck, Activations) {
  for (Shape s : std::vector<Shape>{{1}, {7}, {3, 33}, {2, 3, 4, 5}}) {
    check({"relu", {s}, [](auto& v) { return relu(v[0]); }, 1e-3});
    check({"tanh", {s}, [](auto& v) { return tanh(v[0]); }});
    check({"sigmoid", {s}, [](auto& v) { return sigmoid(v[0]); }});
  }
}

TEST(Gradcheck, BroadcastingBinaryOps) {
  std::vector<std::pair<Shape, Shape>> patterns = {
      {{7}, {7}}, {{3, 5}, {5}}, {{3, 5}, {3, 1}}, {{2, 3, 4, 5}, {1, 3, 1, 1}},
      {{2, 3, 4, 5}, {1}}, {{3, 1}, {1, 4}}, {{1}, {2, 3}}};
  for (auto& [a, b] : patterns) {
    check({"add", {a, b}, [](auto& v) { return add(v[0], v[1]); }});
    check({"sub", {a, b}, [](auto& v) { return sub(v[0], v[1]); }});
    check({"mul", {a, b}, [](auto& v) { return mul(v[0], v[1]); }});
  }
  check({"scale", {{3, 4}}, [](auto& v) { return scale(v[0], -2.5); }});
}

TEST(Gradcheck, Reductions) {
  for (Shape s : std::vector<Shape>{{1}, {33}, {2, 3, 5, 7}}) {
    check({"sum", {s}, [](auto& v) { return sum(v[0]); }});
    check({"mean", {s}, [](auto& v) { return mean(v[0]); }});
  }
}

TEST(Gradcheck, LogSoftmaxAndCrossEntropy) {
  for (auto [rows, cols] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {1, 10}, {7, 3}, {4, 33}}) {
    check({"log_softmax", {{rows, cols}}, [](auto& v) { return log_softmax(v[0]); }});
    std::vector<int32_t> labels(rows);
    for (int64_t r = 0; r < rows; ++r) labels[r] = static_cast<int32_t>((r * 7 + 3) % cols);
    check({"softmax_cross_entropy", {{rows, cols}},
           [labels](auto& v) { return softmax_cross_entropy(v[0], labels); }});
  }
}

TEST(Gradcheck, Dropout) {
  for (Shape s : std::vector<Shape>{{1}, {5, 7}, {2, 3, 4, 5}})
    check({"dropout", {s}, [](auto& v) { return dropout(v[0], 0.3, 1234, true); }});
}

TEST(Gradcheck, ReshapeAndFlatten) {
  check({"flatten", {{2, 3, 4, 5}}, [](auto& v) { return v[0].flatten(); }});
  check({"reshape", {{2, 3, 4, 5}}, [](auto& v) { return v[0].reshape({5, 24}); }});
}

// A whole small CNN through the tape: conv → relu → max pool → flatten →
// linear → cross-entropy, every parameter and the input checked.
TEST(Gradcheck, SmallNetworkEndToEnd) {
  std::vector<int32_t> labels = {1, 0, 2};
  check({"cnn", {{3, 2, 8, 8}, {4, 2, 3, 3}, {4}, {3, 36}, {3}},
         [labels](auto& v) {
           Tensor h = max_pool2d(relu(conv2d(v[0], v[1], v[2])), {.kernel = 2});
           return scale(softmax_cross_entropy(linear(h.flatten(), v[3], v[4]), labels), 1.0);
         }});
}

}  // namespace
}  // namespace gc

namespace gc {
namespace {

// The checker itself must be able to fail: a test-only op y = x² whose
// recorded backward is planted wrong (2.01·x instead of 2x).
TEST(Gradcheck, CatchesAPlantedWrongGradient) {
  cpu::Rng rng(test::fresh_seed());
  Tensor x = test::random_tensor({5}, rng, DType::F64, 0.5, 1.0);
  x.requires_grad_();
  auto square_with_bug = [](const Tensor& in) {
    Tensor y = Tensor::empty(in.shape(), in.dtype());
    for (int64_t i = 0; i < in.numel(); ++i) y.data<double>()[i] = in.data<double>()[i] * in.data<double>()[i];
    return record("square_with_bug", {in}, y, [in](const Tensor& g) { return std::vector<Tensor>{mul(g, scale(in, 2.01))}; });
  };
  auto results = gradcheck([&] { return sum(square_with_bug(x)); }, {x});
  ASSERT_EQ(results.size(), 1u);
  EXPECT_FALSE(results[0].passed);
  EXPECT_GT(results[0].max_rel_error, 1e-3);
}

}  // namespace
}  // namespace gc
