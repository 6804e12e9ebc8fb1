// packed_conv2d_forward (kernels/cpu/conv2d_packed.h) against what it
// promises: on AVX2, the bits of im2col + sgemm (conv2d_forward with
// --conv-algo direct), then max-pool and ReLU for the pooled tail; the
// portable loop the same bits as the AVX2 one; and one or two threads, one
// image or several, the same bits. Shapes: the seed CNN's second and third
// layers (k = 576 crosses sgemm's 512-term block), padding, stride,
// dilation, 5×5 kernels, a different window per axis, channel counts that
// leave part of an 8- or 24-channel block, an odd output left over by the
// pool.
#include <gtest/gtest.h>
#include <omp.h>

#include <optional>
#include <string>
#include <vector>

#include "kernels/cpu/activation.h"
#include "kernels/cpu/conv2d.h"
#include "kernels/cpu/conv2d_packed.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/pool2d.h"
#include "tests/kernels/conv2d_reference.h"

namespace gc::cpu::test {
namespace {

Conv2dShape shape(int n, int c_in, int h, int w, int c_out, int k, int stride = 1, int pad = 0, int dil = 1) {
  Conv2dShape s{n, c_in, h, w, c_out, k, k};
  s.stride_h = s.stride_w = stride;
  s.pad_h = s.pad_w = pad;
  s.dil_h = s.dil_w = dil;
  return s;
}

// A 3×5 kernel, stride 2×1, padding 1×2, dilation 1×2.
Conv2dShape per_axis() {
  Conv2dShape s{2, 3, 12, 17, 16, 3, 5};
  s.stride_h = 2;
  s.pad_w = 2;
  s.pad_h = 1;
  s.dil_w = 2;
  return s;
}

const std::vector<Conv2dShape>& shapes() {
  static const std::vector<Conv2dShape> all = {
      shape(1, 32, 13, 13, 64, 3), shape(3, 64, 5, 5, 64, 3),     shape(2, 6, 14, 14, 16, 5),
      shape(1, 3, 9, 11, 17, 3, 2, 1), shape(2, 5, 12, 10, 20, 3, 1, 2, 2), shape(1, 1, 7, 7, 40, 2),
      per_axis(),
  };
  return all;
}

// conv2d_forward (im2col + sgemm), then the tail's pool and ReLU.
std::vector<float> reference(const Conv2dShape& s, const std::vector<float>& x, const std::vector<float>& w,
                             const float* bias, ConvTail tail) {
  std::vector<float> y(y_size(s));
  set_conv_algo(ConvAlgo::direct);
  conv2d_forward<float>(s, x.data(), w.data(), bias, y.data());
  set_conv_algo(ConvAlgo::automatic);
  if (tail == ConvTail::relu) relu_forward<float>(idx(y.size()), y.data(), y.data());
  if (tail != ConvTail::pool_relu) return y;
  const Pool2dShape pool{s.n, s.c_out, s.out_h(), s.out_w(), 2, 2, 2, 2};
  std::vector<float> pooled(idx(s.n) * s.c_out * pool.out_h() * pool.out_w());
  max_pool2d_forward<float>(pool, y.data(), pooled.data(), nullptr);
  relu_forward<float>(idx(pooled.size()), pooled.data(), pooled.data());
  return pooled;
}

std::vector<float> packed(const Conv2dShape& s, const std::vector<float>& x, const std::vector<float>& w,
                          const float* bias, ConvTail tail) {
  const PackedConv2d p = pack_conv2d(s, w.data(), bias, tail);
  std::vector<float> y = nan_vector<float>(idx(s.n) * s.c_out * p.plane);
  packed_conv2d_forward(p, s.n, x.data(), y.data());
  return y;
}

class PackedConvTest : public ::testing::TestWithParam<ConvTail> {
 protected:
  void TearDown() override {
    set_simd_override(std::nullopt);
    omp_set_num_threads(saved_threads_);
  }
  int saved_threads_ = omp_get_max_threads();
};

TEST_P(PackedConvTest, GivesTheBitsOfIm2colAndSgemm) {
  if (!cpu_supports(SimdLevel::avx2)) GTEST_SKIP() << "the promise is AVX2's (sgemm's scalar kernel sums in 256-term blocks)";
  set_simd_override(SimdLevel::avx2);
  for (const Conv2dShape& s : shapes())
    for (bool with_bias : {true, false}) {
      SCOPED_TRACE(describe(s) + (with_bias ? "" : " no bias"));
      std::mt19937 rng(s.c_in * 131 + s.c_out);
      const auto x = random_vector<float>(x_size(s), rng), w = random_vector<float>(w_size(s), rng);
      const auto bias = random_vector<float>(s.c_out, rng);
      const float* b = with_bias ? bias.data() : nullptr;
      const std::vector<float> want = reference(s, x, w, b, GetParam()), got = packed(s, x, w, b, GetParam());
      ASSERT_EQ(got.size(), want.size());
      for (size_t k = 0; k < got.size(); ++k) ASSERT_EQ(got[k], want[k]) << "value " << k;
    }
}

TEST_P(PackedConvTest, PortableLoopAndThreadsGiveTheSameBits) {
  for (const Conv2dShape& s : shapes()) {
    SCOPED_TRACE(describe(s));
    std::mt19937 rng(s.h * 7 + s.c_out);
    const auto x = random_vector<float>(x_size(s), rng), w = random_vector<float>(w_size(s), rng);
    const auto bias = random_vector<float>(s.c_out, rng);
    omp_set_num_threads(1);
    const std::vector<float> one = packed(s, x, w, bias.data(), GetParam());
    omp_set_num_threads(2);
    const std::vector<float> two = packed(s, x, w, bias.data(), GetParam());
    set_simd_override(SimdLevel::scalar);
    const std::vector<float> portable = packed(s, x, w, bias.data(), GetParam());
    set_simd_override(std::nullopt);
    for (size_t k = 0; k < one.size(); ++k) {
      ASSERT_EQ(one[k], two[k]) << "value " << k << ": one thread against two";
      ASSERT_EQ(one[k], portable[k]) << "value " << k << ": SIMD against portable";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Tails, PackedConvTest,
                         ::testing::Values(ConvTail::none, ConvTail::relu, ConvTail::pool_relu));

TEST(PackedConv, RefusesAPoolOnATooSmallOutput) {
  const std::vector<float> w(9, 1.0f);
  EXPECT_THROW(pack_conv2d(shape(1, 1, 3, 3, 1, 3), w.data(), nullptr, ConvTail::pool_relu), std::invalid_argument);
  EXPECT_THROW(pack_conv2d(shape(1, 1, 3, 3, 1, 3), nullptr, nullptr, ConvTail::none), std::invalid_argument);
}

}  // namespace
}  // namespace gc::cpu::test
