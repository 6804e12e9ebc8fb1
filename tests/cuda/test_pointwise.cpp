// The rest of the table against the CPU kernels: activations, broadcasting
// binary ops, sum_to_shape, BLAS-1 helpers, the full sum, log-softmax,
// softmax cross-entropy, dropout (the CPU's mask bit for bit), SGD and Adam,
// and the memory functions. Every output starts as NaN.
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/cpu/activation.h"
#include "kernels/cpu/dropout.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/optimizer.h"
#include "kernels/cpu/reduce.h"
#include "kernels/cpu/softmax.h"
#include "tests/cuda/harness.h"

namespace gc::cuda::test {
namespace {

int64_t sizes_n() { return small_sizes() ? 300 : 5003; }  // more than one block, not a multiple of 256

TEST(Memory, CopiesAndFill) {
  GC_REQUIRE_DEVICE();
  const Kernels& k = table();
  const auto x = random_vector(1001, 1);
  DeviceBuffer<float> a(x);
  PoisonedBuffer b(x.size());
  k.copy_device(b.get(), a.get(), x.size() * sizeof(float));
  EXPECT_TRUE(equal(b.download(), x));
  k.fill(b.get(), 1001, 2.5f);
  k.synchronize();
  EXPECT_TRUE(equal(b.download(), std::vector<float>(1001, 2.5f)));
  EXPECT_GE(k.device_count(), 1);
}

// op(x[, dy]) on the device against cpu_op on the host, pointwise.
template <typename Dev, typename Cpu>
void check_unary(const char* name, Dev dev, Cpu cpu_op, float lo = -3.0f, float hi = 3.0f) {
  SCOPED_TRACE(name);
  const int64_t n = sizes_n();
  const auto x = random_vector(n, 7, lo, hi), dy = random_vector(n, 8);
  DeviceBuffer<float> dx(x), ddy(dy);
  PoisonedBuffer out(n);
  std::vector<float> want(n);
  dev(n, dx.get(), ddy.get(), out.get());
  cpu_op(n, x.data(), dy.data(), want.data());
  EXPECT_TRUE(close(out.download(), want));
}

TEST(Activation, ForwardAndBackwardMatchCpu) {
  GC_REQUIRE_DEVICE();
  const Kernels& k = table();
  check_unary("relu_forward", [&](int64_t n, const float* x, const float*, float* y) { k.relu_forward(n, x, y); },
              [](int64_t n, const float* x, const float*, float* y) { cpu::relu_forward(n, x, y); });
  check_unary("relu_backward", k.relu_backward, cpu::relu_backward<float>);
  check_unary("tanh_forward", [&](int64_t n, const float* x, const float*, float* y) { k.tanh_forward(n, x, y); },
              [](int64_t n, const float* x, const float*, float* y) { cpu::tanh_forward(n, x, y); });
  check_unary("tanh_backward", k.tanh_backward, cpu::tanh_backward<float>, -1.0f, 1.0f);
  check_unary("sigmoid_forward",
              [&](int64_t n, const float* x, const float*, float* y) { k.sigmoid_forward(n, x, y); },
              [](int64_t n, const float* x, const float*, float* y) { cpu::sigmoid_forward(n, x, y); }, -30.0f, 30.0f);
  check_unary("sigmoid_backward", k.sigmoid_backward, cpu::sigmoid_backward<float>, 0.0f, 1.0f);
  // NaN passes through relu as on the CPU.
  DeviceBuffer<float> nan_in(std::vector<float>{NAN, -1.0f});
  PoisonedBuffer nan_out(2);
  k.relu_forward(2, nan_in.get(), nan_out.get());
  const auto got = nan_out.download();
  EXPECT_TRUE(std::isnan(got[0]));
  EXPECT_EQ(got[1], 0.0f);
}

TEST(Elementwise, BroadcastingBinaryOpsMatchCpu) {
  GC_REQUIRE_DEVICE();
  const Kernels& k = table();
  const cpu::Dims4 shape{{3, 5, 7, 9}};
  const auto a = random_vector(3 * 5 * 7 * 9, 11);
  const auto bias = random_vector(5, 12);        // [1, 5, 1, 1] against NCHW
  const auto row = random_vector(9, 13);         // [1, 1, 1, 9]
  const cpu::Dims4 a_strides{{5 * 7 * 9, 7 * 9, 9, 1}}, bias_strides{{0, 1, 0, 0}}, row_strides{{0, 0, 0, 1}};
  DeviceBuffer<float> da(a), dbias(bias), drow(row);
  for (cpu::BinaryOp op : {cpu::BinaryOp::Add, cpu::BinaryOp::Sub, cpu::BinaryOp::Mul}) {
    SCOPED_TRACE(static_cast<int>(op));
    PoisonedBuffer out(a.size());
    std::vector<float> want(a.size());
    k.binary_forward(op, shape, da.get(), a_strides, dbias.get(), bias_strides, out.get());
    cpu::binary_forward(op, shape, a.data(), a_strides, bias.data(), bias_strides, want.data());
    EXPECT_TRUE(close(out.download(), want));
    // broadcast on the left operand, too
    k.binary_forward(op, shape, drow.get(), row_strides, da.get(), a_strides, out.get());
    cpu::binary_forward(op, shape, row.data(), row_strides, a.data(), a_strides, want.data());
    EXPECT_TRUE(close(out.download(), want));
  }
  // in place: a += bias
  std::vector<float> want(a);
  cpu::binary_forward(cpu::BinaryOp::Add, shape, a.data(), a_strides, bias.data(), bias_strides, want.data());
  k.binary_forward(cpu::BinaryOp::Add, shape, da.get(), a_strides, dbias.get(), bias_strides, da.get());
  EXPECT_TRUE(close(da.download(), want));
}

TEST(Elementwise, SumToShapeMatchesCpu) {
  GC_REQUIRE_DEVICE();
  const Kernels& k = table();
  const cpu::Dims4 in_shape{{4, 6, 5, 300}};  // 300 ≥ 256 terms: the block path; smaller sums: the thread path
  const auto in = random_vector(4 * 6 * 5 * 300, 21);
  const auto abs_in = abs_of(in);
  DeviceBuffer<float> din(in);
  for (const cpu::Dims4& out_shape : {cpu::Dims4{{1, 6, 1, 1}}, cpu::Dims4{{4, 1, 5, 1}}, cpu::Dims4{{1, 1, 1, 300}},
                                      cpu::Dims4{{1, 1, 1, 1}}, cpu::Dims4{{4, 6, 5, 300}}, cpu::Dims4{{4, 1, 1, 300}}}) {
    SCOPED_TRACE(std::to_string(out_shape.d[0]) + "x" + std::to_string(out_shape.d[1]) + "x" +
                 std::to_string(out_shape.d[2]) + "x" + std::to_string(out_shape.d[3]));
    const size_t n = size_t(out_shape.d[0] * out_shape.d[1] * out_shape.d[2] * out_shape.d[3]);
    PoisonedBuffer out(n);
    std::vector<float> want(n), mag(n);
    k.sum_to_shape(in_shape, din.get(), out_shape, out.get());
    cpu::sum_to_shape(in_shape, in.data(), out_shape, want.data());
    cpu::sum_to_shape(in_shape, abs_in.data(), out_shape, mag.data());
    EXPECT_TRUE(close(out.download(), want, mag));
  }
  EXPECT_THROW(k.sum_to_shape(in_shape, din.get(), cpu::Dims4{{2, 1, 1, 1}}, nullptr), std::invalid_argument);
}

TEST(Elementwise, ScaleAxpyMulAndSumMatchCpu) {
  GC_REQUIRE_DEVICE();
  const Kernels& k = table();
  const int64_t n = sizes_n();
  const auto x = random_vector(n, 31), y0 = random_vector(n, 32);
  DeviceBuffer<float> dx(x), dy(y0);
  PoisonedBuffer out(n);
  std::vector<float> want(n);
  k.scale(n, -0.75f, dx.get(), out.get());
  cpu::scale(n, -0.75f, x.data(), want.data());
  EXPECT_TRUE(close(out.download(), want)) << "scale";
  k.mul_elementwise(n, dx.get(), dy.get(), out.get());
  cpu::mul_elementwise(n, x.data(), y0.data(), want.data());
  EXPECT_TRUE(close(out.download(), want)) << "mul";
  want = y0;
  k.axpy(n, 1.5f, dx.get(), dy.get());
  cpu::axpy(n, 1.5f, x.data(), want.data());
  EXPECT_TRUE(close(dy.download(), want)) << "axpy";

  for (int64_t len : {int64_t(1), int64_t(255), n, small_sizes() ? int64_t(700) : int64_t(3000001)}) {
    const auto v = random_vector(len, 33 + len);
    DeviceBuffer<float> dv(v);
    const auto av = abs_of(v);
    EXPECT_TRUE(close({k.sum(len, dv.get())}, {cpu::sum(len, v.data())}, {cpu::sum(len, av.data())})) << "sum of " << len;
  }
}

TEST(Softmax, LogSoftmaxForwardAndBackwardMatchCpu) {
  GC_REQUIRE_DEVICE();
  const Kernels& k = table();
  for (int64_t cols : {int64_t(10), int64_t(1), int64_t(77)}) {
    SCOPED_TRACE(cols);
    const int64_t rows = 37;
    const auto x = random_vector(rows * cols, 41 + cols, -8.0f, 8.0f), dy = random_vector(rows * cols, 42 + cols);
    DeviceBuffer<float> dx(x), ddy(dy);
    PoisonedBuffer y(rows * cols), gx(rows * cols);
    std::vector<float> want_y(rows * cols), want_gx(rows * cols), mag(rows * cols);
    k.log_softmax_forward(rows, cols, dx.get(), y.get());
    cpu::log_softmax_forward(rows, cols, x.data(), want_y.data());
    // log Σ is a sum over the row: allow 1e-5 of |x − max| + log Σ.
    EXPECT_TRUE(close(y.download(), want_y, abs_of(want_y)));
    k.log_softmax_backward(rows, cols, y.get(), ddy.get(), gx.get());
    cpu::log_softmax_backward(rows, cols, want_y.data(), dy.data(), want_gx.data());
    for (int64_t r = 0; r < rows; ++r) {  // mag = |dy| + exp(y)·Σ|dy|
      double s = 0;
      for (int64_t j = 0; j < cols; ++j) s += std::fabs(dy[r * cols + j]);
      for (int64_t j = 0; j < cols; ++j)
        mag[r * cols + j] = float(std::fabs(dy[r * cols + j]) + std::exp(want_y[r * cols + j]) * s);
    }
    EXPECT_TRUE(close(gx.download(), want_gx, mag));
  }
}

TEST(Softmax, CrossEntropyForwardAndBackwardMatchCpu) {
  GC_REQUIRE_DEVICE();
  const Kernels& k = table();
  const int64_t rows = small_sizes() ? 19 : 301, cols = 10;
  auto logits = random_vector(rows * cols, 51, -6.0f, 6.0f);
  logits[3] = 1e4f;  // large logits stay finite
  logits[14] = -1e4f;
  std::vector<int32_t> labels(rows);
  for (int64_t r = 0; r < rows; ++r) labels[r] = int32_t(cpu::counter_bits(seed(), r) % cols);
  DeviceBuffer<float> dlogits(logits);
  DeviceBuffer<int32_t> dlabels(labels);
  PoisonedBuffer probs(rows * cols), grad(rows * cols);
  std::vector<float> want_p(rows * cols), want_g(rows * cols);
  const float loss = k.softmax_cross_entropy_forward(rows, cols, dlogits.get(), dlabels.get(), probs.get());
  const float want_loss = cpu::softmax_cross_entropy_forward(rows, cols, logits.data(), labels.data(), want_p.data());
  EXPECT_TRUE(close({loss}, {want_loss}));
  EXPECT_TRUE(close(probs.download(), want_p));
  k.softmax_cross_entropy_backward(rows, cols, probs.get(), dlabels.get(), 2.0f, grad.get());
  cpu::softmax_cross_entropy_backward(rows, cols, want_p.data(), labels.data(), 2.0f, want_g.data());
  EXPECT_TRUE(close(grad.download(), want_g));

  labels[rows / 2] = int32_t(cols);  // out of range: an error, as on the CPU
  dlabels.upload(labels);
  EXPECT_THROW(k.softmax_cross_entropy_forward(rows, cols, dlogits.get(), dlabels.get(), probs.get()),
               std::invalid_argument);
}

TEST(Dropout, MaskIsTheCpuMaskBitForBit) {
  GC_REQUIRE_DEVICE();
  const Kernels& k = table();
  const int64_t n = sizes_n();
  const auto x = random_vector(n, 61), dy = random_vector(n, 62);
  DeviceBuffer<float> dx(x), ddy(dy);
  for (float p : {0.0f, 0.3f, 0.5f, 1.0f}) {
    SCOPED_TRACE(p);
    PoisonedBuffer mask(n), y(n), gx(n);
    std::vector<float> want_mask(n), want_y(n), want_gx(n);
    k.dropout_forward(n, p, seed() + 5, dx.get(), mask.get(), y.get());
    cpu::dropout_forward(n, p, seed() + 5, x.data(), want_mask.data(), want_y.data());
    EXPECT_TRUE(equal(mask.download(), want_mask));
    EXPECT_TRUE(equal(y.download(), want_y));
    k.dropout_backward(n, mask.get(), ddy.get(), gx.get());
    cpu::dropout_backward(n, want_mask.data(), dy.data(), want_gx.data());
    EXPECT_TRUE(equal(gx.download(), want_gx));
  }
  EXPECT_THROW(k.dropout_forward(n, 1.5f, 1, dx.get(), nullptr, nullptr), std::invalid_argument);
}

TEST(Optimizer, SgdMatchesCpuOverSteps) {
  GC_REQUIRE_DEVICE();
  const Kernels& k = table();
  const int64_t n = sizes_n();
  struct Config {
    float momentum, wd;
    bool nesterov;
  };
  for (const Config& c : {Config{0.0f, 0.0f, false}, Config{0.9f, 1e-3f, false}, Config{0.9f, 1e-2f, true}}) {
    SCOPED_TRACE(std::to_string(c.momentum) + (c.nesterov ? " nesterov" : ""));
    auto w = random_vector(n, 71), vel = std::vector<float>(n, NAN);  // step 1 must not read the velocity
    DeviceBuffer<float> dw(w), dvel(vel);
    for (int64_t step = 1; step <= 3; ++step) {
      const auto g = random_vector(n, 72 + step);
      DeviceBuffer<float> dg(g);
      k.sgd_update(n, dw.get(), dg.get(), c.momentum > 0 ? dvel.get() : nullptr, step, 0.1f, c.momentum, c.wd,
                   c.nesterov);
      cpu::sgd_update(n, w.data(), g.data(), c.momentum > 0 ? vel.data() : nullptr, step, 0.1f, c.momentum, c.wd,
                      c.nesterov);
    }
    EXPECT_TRUE(close(dw.download(), w));
    if (c.momentum > 0) {
      EXPECT_TRUE(close(dvel.download(), vel));
    }
  }
}

TEST(Optimizer, AdamAndAdamWMatchCpuOverSteps) {
  GC_REQUIRE_DEVICE();
  const Kernels& k = table();
  const int64_t n = sizes_n();
  for (bool decoupled : {false, true}) {
    SCOPED_TRACE(decoupled ? "AdamW" : "Adam");
    auto w = random_vector(n, 81), m = std::vector<float>(n, 0.0f), v = std::vector<float>(n, 0.0f);
    DeviceBuffer<float> dw(w), dm(m), dv(v);
    for (int64_t step = 1; step <= 3; ++step) {
      const auto g = random_vector(n, 82 + step);
      DeviceBuffer<float> dg(g);
      k.adam_update(n, dw.get(), dg.get(), dm.get(), dv.get(), step, 1e-3f, 0.9f, 0.999f, 1e-8f, 1e-2f, decoupled);
      cpu::adam_update(n, w.data(), g.data(), m.data(), v.data(), step, 1e-3f, 0.9f, 0.999f, 1e-8f, 1e-2f, decoupled);
    }
    EXPECT_TRUE(close(dw.download(), w));
    EXPECT_TRUE(close(dm.download(), m));
    EXPECT_TRUE(close(dv.download(), v));
  }
  EXPECT_THROW(k.adam_update(n, nullptr, nullptr, nullptr, nullptr, 0, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f, false),
               std::invalid_argument);
}

}  // namespace
}  // namespace gc::cuda::test
