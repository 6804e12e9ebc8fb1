// Requantization (kernels/cpu/int8_requant.h): the AVX2 path equals the scalar
// path byte for byte (ties, clamps, ReLU, pooling included); the scalar path
// rounds half to even; pooling the sums equals pooling the requantized bytes;
// im2col_u8 + the int8 GEMM equals a direct integer convolution.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/cpu/int8_gemm.h"
#include "kernels/cpu/int8_requant.h"

namespace gc::cpu {
namespace {

struct Channels {
  std::vector<int32_t> bias;
  std::vector<float> scale;
};

// Scales from tiny to 0.5 (every odd sum is then a tie), biases of both signs.
Channels make_channels(int n, std::mt19937& rng) {
  std::uniform_int_distribution<int32_t> bias(-40000, 40000);
  std::uniform_real_distribution<float> log_scale(-14.0f, -1.0f);
  Channels ch{std::vector<int32_t>(n), std::vector<float>(n)};
  for (int j = 0; j < n; ++j) {
    ch.bias[j] = bias(rng);
    ch.scale[j] = j % 3 == 0 ? 0.5f : std::exp2(log_scale(rng));
  }
  return ch;
}

std::vector<int32_t> make_sums(std::size_t count, std::mt19937& rng) {
  std::uniform_int_distribution<int32_t> wide(-20'000'000, 20'000'000), narrow(-600, 600);
  std::vector<int32_t> acc(count);
  for (std::size_t e = 0; e < count; ++e) acc[e] = e % 2 ? wide(rng) : narrow(rng);
  return acc;
}

void skip_without_avx2() {
  if (!cpu_supports(Int8Path::avx2)) GTEST_SKIP() << "the AVX2 requantization needs CPU feature avx2";
}

TEST(Int8Requant, Avx2EqualsScalar) {
  skip_without_avx2();
  std::mt19937 rng(7);
  for (int n : {1, 7, 8, 13, 64, 67}) {
    for (int zero_point : {0, 3, 128, 255}) {
      for (bool relu : {false, true}) {
        const int rows = 9;
        const std::ptrdiff_t ld_acc = n + 1, ld_out = n + 2;
        const Channels ch = make_channels(n, rng);
        const std::vector<int32_t> acc = make_sums(rows * ld_acc, rng);
        const Requantization rq{ch.bias.data(), ch.scale.data(), zero_point, relu};
        std::vector<uint8_t> ref(rows * ld_out, 0xAB), got(ref);
        requantize(Int8Path::scalar, acc.data(), rows, n, ld_acc, rq, ref.data(), ld_out);
        requantize(Int8Path::avx2, acc.data(), rows, n, ld_acc, rq, got.data(), ld_out);
        EXPECT_EQ(got, ref) << "n=" << n << " zero point " << zero_point << " relu " << relu;
      }
    }
  }
}

TEST(Int8Requant, MaxPoolAvx2EqualsScalar) {
  skip_without_avx2();
  std::mt19937 rng(8);
  for (int n : {1, 9, 32, 64}) {
    for (int h : {2, 5, 26, 11}) {
      const int w = h + 1;
      const Channels ch = make_channels(n, rng);
      const std::vector<int32_t> acc = make_sums(std::size_t(h) * w * n, rng);
      const Requantization rq{ch.bias.data(), ch.scale.data(), 5, true};
      std::vector<uint8_t> ref((h / 2) * (w / 2) * n), got(ref.size());
      requantize_maxpool2x2(Int8Path::scalar, acc.data(), h, w, n, rq, ref.data());
      requantize_maxpool2x2(Int8Path::avx2, acc.data(), h, w, n, rq, got.data());
      EXPECT_EQ(got, ref) << "n=" << n << " h=" << h << " w=" << w;
    }
  }
}

// Pooling the int32 sums first gives the bytes of requantizing every sum and
// then taking the max of each 2×2 window.
TEST(Int8Requant, PoolingCommutesWithRequantization) {
  std::mt19937 rng(9);
  const int h = 7, w = 6, n = 5;
  const Channels ch = make_channels(n, rng);
  const std::vector<int32_t> acc = make_sums(h * w * n, rng);
  for (bool relu : {false, true}) {
    const Requantization rq{ch.bias.data(), ch.scale.data(), 100, relu};
    std::vector<uint8_t> full(h * w * n), pooled((h / 2) * (w / 2) * n);
    requantize(Int8Path::scalar, acc.data(), h * w, n, n, rq, full.data(), n);
    requantize_maxpool2x2(Int8Path::scalar, acc.data(), h, w, n, rq, pooled.data());
    for (int oy = 0; oy < h / 2; ++oy)
      for (int ox = 0; ox < w / 2; ++ox)
        for (int j = 0; j < n; ++j) {
          auto at = [&](int y, int x) { return full[(y * w + x) * n + j]; };
          const uint8_t expected = std::max({at(2 * oy, 2 * ox), at(2 * oy, 2 * ox + 1), at(2 * oy + 1, 2 * ox),
                                             at(2 * oy + 1, 2 * ox + 1)});
          EXPECT_EQ(pooled[(oy * (w / 2) + ox) * n + j], expected) << "relu " << relu;
        }
  }
}

// Half-way cases round to even; the clamps and ReLU's floor (the zero point).
TEST(Int8Requant, RoundingAndClamps) {
  const int32_t bias[1] = {0};
  const float scale[1] = {0.5f};
  const int32_t acc[] = {1, 3, 5, -1, -3, 1000, -1000, 0};
  // v = 0.5, 1.5, 2.5, −0.5, −1.5, 500, −500, 0 → round → +10, then clamp.
  const uint8_t plain[] = {10, 12, 12, 10, 8, 255, 0, 10};
  const uint8_t relu[] = {10, 12, 12, 10, 10, 255, 10, 10};
  for (Int8Path path : {Int8Path::scalar, Int8Path::avx2}) {
    if (!cpu_supports(path)) continue;
    uint8_t out[8];
    const Requantization rq{bias, scale, 10, false};
    requantize(path, acc, 8, 1, 1, rq, out, 1);
    EXPECT_TRUE(std::equal(out, out + 8, plain)) << int8_path_name(path);
    requantize(path, acc, 8, 1, 1, {bias, scale, 10, true}, out, 1);
    EXPECT_TRUE(std::equal(out, out + 8, relu)) << int8_path_name(path) << " relu";
  }
}

// A convolution as im2col_u8 + GEMM on every path against the direct sum
// Σ (x − z)·w over the window, padding reading the zero point z (real 0), with
// the zero-point term folded into the bias as the runner does.
TEST(Int8Conv, Im2colGemmEqualsDirectConvolution) {
  std::mt19937 rng(10);
  std::uniform_int_distribution<int> byte(0, 255);
  const int h = 9, w = 7, c = 3, k = 3, stride = 2, pad = 1, n = 5;
  const int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
  const uint8_t z = 37;
  std::vector<uint8_t> x(h * w * c);
  for (auto& v : x) v = static_cast<uint8_t>(byte(rng));
  std::vector<int8_t> weights(n * k * k * c);
  for (auto& v : weights) v = static_cast<int8_t>(byte(rng) - 128);

  std::vector<int32_t> direct(oh * ow * n, 0);
  for (int oy = 0; oy < oh; ++oy)
    for (int ox = 0; ox < ow; ++ox)
      for (int j = 0; j < n; ++j)
        for (int ky = 0; ky < k; ++ky)
          for (int kx = 0; kx < k; ++kx)
            for (int ci = 0; ci < c; ++ci) {
              const int y = oy * stride - pad + ky, xx = ox * stride - pad + kx;
              const int value = (y < 0 || y >= h || xx < 0 || xx >= w) ? z : x[(y * w + xx) * c + ci];
              direct[(oy * ow + ox) * n + j] += (value - z) * weights[((j * k + ky) * k + kx) * c + ci];
            }

  const PackedS8Weights packed = pack_s8_weights(n, k * k * c, weights.data());
  const std::ptrdiff_t ld = packed.padded_k();
  std::vector<uint8_t> col(oh * ow * ld, 0);
  im2col_u8(x.data(), h, w, c, k, stride, pad, z, col.data(), ld);
  for (Int8Path path : {Int8Path::scalar, Int8Path::avx2, Int8Path::avx_vnni, Int8Path::avx512_vnni}) {
    if (!cpu_supports(path)) continue;
    std::vector<int32_t> acc(oh * ow * n);
    gemm_u8s8s32(path, oh * ow, col.data(), ld, packed, acc.data(), n);
    for (int e = 0; e < oh * ow * n; ++e) acc[e] -= z * packed.row_sums[e % n];
    EXPECT_EQ(acc, direct) << int8_path_name(path);
  }
}

}  // namespace
}  // namespace gc::cpu
