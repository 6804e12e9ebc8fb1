// conv2d (forward, grad-input, grad-weight, grad-bias) and max/avg pooling
// (forward, backward) against the CPU kernels: odd sizes, stride 2,
// padding 1, dilation, non-square kernels, overlapping pooling windows.
// Outputs start as NaN; sums are compared with the harness's Σ|terms| bound.
#include <string>
#include <vector>

#include "kernels/cpu/conv2d.h"
#include "kernels/cpu/pool2d.h"
#include "tests/cuda/harness.h"

namespace gc::cuda::test {
namespace {

std::vector<cpu::Conv2dShape> conv_shapes() {
  std::vector<cpu::Conv2dShape> out;
  cpu::Conv2dShape a{2, 3, 9, 7, 5, 3, 3};  // odd H/W, stride 2, padding 1
  a.stride_h = a.stride_w = 2;
  a.pad_h = a.pad_w = 1;
  out.push_back(a);
  if (small_sizes()) return out;
  cpu::Conv2dShape b{3, 2, 8, 11, 4, 3, 2};  // non-square kernel, dilation 2
  b.dil_h = b.dil_w = 2;
  b.pad_w = 1;
  out.push_back(b);
  out.push_back(cpu::Conv2dShape{2, 1, 28, 28, 8, 3, 3});  // the seed CNN's first layer, fewer channels
  out.push_back(cpu::Conv2dShape{1, 6, 5, 5, 7, 3, 3});    // 5×5 → 3×3, batch 1
  return out;
}

std::string text(const cpu::Conv2dShape& s) {
  return "n=" + std::to_string(s.n) + " c_in=" + std::to_string(s.c_in) + " " + std::to_string(s.h) + "x" +
         std::to_string(s.w) + " c_out=" + std::to_string(s.c_out) + " k=" + std::to_string(s.kh) + "x" +
         std::to_string(s.kw) + " stride=" + std::to_string(s.stride_h) + " pad=" + std::to_string(s.pad_h) + "," +
         std::to_string(s.pad_w) + " dil=" + std::to_string(s.dil_h);
}

TEST(Conv2d, AllFourPassesMatchCpu) {
  GC_REQUIRE_DEVICE();
  const Kernels& k = table();
  uint64_t salt = 50;
  for (const cpu::Conv2dShape& s : conv_shapes()) {
    SCOPED_TRACE(text(s));
    const size_t xs = size_t(s.n) * s.c_in * s.h * s.w, ws = size_t(s.c_out) * s.c_in * s.kh * s.kw;
    const size_t ys = size_t(s.n) * s.c_out * s.out_h() * s.out_w();
    const auto x = random_vector(xs, ++salt), w = random_vector(ws, ++salt), bias = random_vector(s.c_out, ++salt);
    const auto dy = random_vector(ys, ++salt);
    const auto ax = abs_of(x), aw = abs_of(w), abias = abs_of(bias), ady = abs_of(dy);
    DeviceBuffer<float> dx_in(x), dw_in(w), dbias(bias), ddy(dy);

    PoisonedBuffer y(ys);
    k.conv2d_forward(s, dx_in.get(), dw_in.get(), dbias.get(), y.get());
    std::vector<float> want(ys), mag(ys);
    cpu::conv2d_forward(s, x.data(), w.data(), bias.data(), want.data());
    cpu::conv2d_forward(s, ax.data(), aw.data(), abias.data(), mag.data());
    EXPECT_TRUE(close(y.download(), want, mag)) << "forward";

    PoisonedBuffer y_nobias(ys);
    k.conv2d_forward(s, dx_in.get(), dw_in.get(), nullptr, y_nobias.get());
    cpu::conv2d_forward<float>(s, x.data(), w.data(), nullptr, want.data());
    EXPECT_TRUE(close(y_nobias.download(), want, mag)) << "forward without bias";

    PoisonedBuffer gx(xs);
    k.conv2d_backward_input(s, ddy.get(), dw_in.get(), gx.get());
    std::vector<float> want_gx(xs), mag_gx(xs);
    cpu::conv2d_backward_input(s, dy.data(), w.data(), want_gx.data());
    cpu::conv2d_backward_input(s, ady.data(), aw.data(), mag_gx.data());
    EXPECT_TRUE(close(gx.download(), want_gx, mag_gx)) << "grad-input";

    PoisonedBuffer gw(ws);
    k.conv2d_backward_weight(s, dx_in.get(), ddy.get(), gw.get());
    std::vector<float> want_gw(ws), mag_gw(ws);
    cpu::conv2d_backward_weight(s, x.data(), dy.data(), want_gw.data());
    cpu::conv2d_backward_weight(s, ax.data(), ady.data(), mag_gw.data());
    EXPECT_TRUE(close(gw.download(), want_gw, mag_gw)) << "grad-weight";

    PoisonedBuffer gb(s.c_out);
    k.conv2d_backward_bias(s, ddy.get(), gb.get());
    std::vector<float> want_gb(s.c_out), mag_gb(s.c_out);
    cpu::conv2d_backward_bias(s, dy.data(), want_gb.data());
    cpu::conv2d_backward_bias(s, ady.data(), mag_gb.data());
    EXPECT_TRUE(close(gb.download(), want_gb, mag_gb)) << "grad-bias";
  }
}

TEST(Conv2d, RejectsShapesWithoutOutput) {
  const Kernels& k = table();
  cpu::Conv2dShape s{1, 1, 2, 2, 1, 3, 3};  // a 3×3 kernel does not fit a 2×2 image
  EXPECT_THROW(k.conv2d_forward(s, nullptr, nullptr, nullptr, nullptr), std::invalid_argument);
}

std::vector<cpu::Pool2dShape> pool_shapes() {
  std::vector<cpu::Pool2dShape> out{{2, 3, 9, 7, 2, 2, 2, 2}};  // odd sizes: the last row/column is dropped
  if (small_sizes()) return out;
  cpu::Pool2dShape padded{1, 2, 7, 8, 3, 3, 2, 2};
  padded.pad_h = padded.pad_w = 1;
  out.push_back(padded);
  out.push_back({2, 2, 6, 5, 3, 2, 1, 1});  // overlapping windows: gradients accumulate
  out.push_back({3, 4, 13, 13, 2, 2, 2, 2});  // the seed CNN's pool after 13×13
  return out;
}

TEST(Pool2d, MaxAndAverageForwardAndBackwardMatchCpu) {
  GC_REQUIRE_DEVICE();
  const Kernels& k = table();
  uint64_t salt = 90;
  for (const cpu::Pool2dShape& s : pool_shapes()) {
    SCOPED_TRACE("pool n=" + std::to_string(s.n) + " c=" + std::to_string(s.c) + " " + std::to_string(s.h) + "x" +
                 std::to_string(s.w) + " k=" + std::to_string(s.kh) + "x" + std::to_string(s.kw) + " stride=" +
                 std::to_string(s.stride_h) + " pad=" + std::to_string(s.pad_h));
    const size_t xs = size_t(s.n) * s.c * s.h * s.w, ys = size_t(s.n) * s.c * s.out_h() * s.out_w();
    const auto x = random_vector(xs, ++salt), dy = random_vector(ys, ++salt);
    const auto ady = abs_of(dy);
    DeviceBuffer<float> dxin(x), ddy(dy);

    PoisonedBuffer y(ys);
    DeviceBuffer<int32_t> argmax(std::vector<int32_t>(ys, -1));
    k.max_pool2d_forward(s, dxin.get(), y.get(), argmax.get());
    std::vector<float> want_y(ys);
    std::vector<int32_t> want_arg(ys);
    cpu::max_pool2d_forward(s, x.data(), want_y.data(), want_arg.data());
    EXPECT_TRUE(equal(y.download(), want_y)) << "max forward";
    EXPECT_TRUE(equal(argmax.download(), want_arg)) << "max argmax";

    PoisonedBuffer gx(xs);
    k.max_pool2d_backward(s, ddy.get(), argmax.get(), gx.get());
    std::vector<float> want_gx(xs), mag_gx(xs);
    cpu::max_pool2d_backward(s, dy.data(), want_arg.data(), want_gx.data());
    cpu::max_pool2d_backward(s, ady.data(), want_arg.data(), mag_gx.data());
    EXPECT_TRUE(close(gx.download(), want_gx, mag_gx)) << "max backward";

    PoisonedBuffer ya(ys);
    k.avg_pool2d_forward(s, dxin.get(), ya.get());
    std::vector<float> want_ya(ys), mag_ya(ys);
    const auto ax = abs_of(x);
    cpu::avg_pool2d_forward(s, x.data(), want_ya.data());
    cpu::avg_pool2d_forward(s, ax.data(), mag_ya.data());
    EXPECT_TRUE(close(ya.download(), want_ya, mag_ya)) << "avg forward";

    PoisonedBuffer gxa(xs);
    k.avg_pool2d_backward(s, ddy.get(), gxa.get());
    cpu::avg_pool2d_backward(s, dy.data(), want_gx.data());
    cpu::avg_pool2d_backward(s, ady.data(), mag_gx.data());
    EXPECT_TRUE(close(gxa.download(), want_gx, mag_gx)) << "avg backward";
  }
}

TEST(Pool2d, MaxPoolPropagatesNaNAndPicksTheFirstOfTies) {
  GC_REQUIRE_DEVICE();
  const Kernels& k = table();
  const cpu::Pool2dShape s{1, 1, 2, 4, 2, 2, 2, 2};
  const std::vector<float> x{1.0f, 1.0f, 0.0f, NAN, 1.0f, 0.5f, 2.0f, 3.0f};
  DeviceBuffer<float> dx(x);
  DeviceBuffer<float> y(2);
  DeviceBuffer<int32_t> arg(2);
  k.max_pool2d_forward(s, dx.get(), y.get(), arg.get());
  std::vector<float> want_y(2);
  std::vector<int32_t> want_arg(2);
  cpu::max_pool2d_forward(s, x.data(), want_y.data(), want_arg.data());
  const auto got = y.download();
  EXPECT_EQ(got[0], want_y[0]);
  EXPECT_TRUE(std::isnan(got[1]) && std::isnan(want_y[1]));
  EXPECT_TRUE(equal(arg.download(), want_arg));
}

}  // namespace
}  // namespace gc::cuda::test
