// `--kernels ours|vendor`.
//   KernelSet.*    (label unit, no device): the engine's switch; vendor on
//                  cuda-emu is a clear error, an unknown name throws; with
//                  cuBLAS/cuDNN built, the vendor table keeps our other
//                  kernels and its entries reject invalid shapes.
//   VendorTable.*  (label gpu, skip without a device; nvcc + cuDNN builds):
//                  the vendor table's sgemm and conv2d entries against ours
//                  (gc::cuda::gpu::kernels()) at the seed CNN's shapes and at
//                  odd ones. Criterion: harness.h's close() at 1e-4, i.e.
//                  |vendor − ours| ≤ 1e-4·max(1, Σ|terms|), the magnitudes from
//                  the CPU kernel on |inputs|; NaN never passes, outputs poisoned.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "engine/cuda_backend.h"

#if defined(GRADCORE_HAVE_CUDA_VENDOR)
#include <vector>

#include "kernels/cpu/conv2d.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cuda/vendor/vendor.h"
#include "tests/cuda/harness.h"
#endif

namespace gc {
namespace {

// Puts the default back however the test ends.
struct KernelSetGuard {
  ~KernelSetGuard() { set_cuda_kernel_set("ours"); }
};

TEST(KernelSet, VendorOnTheEmulatorIsAClearError) {
  KernelSetGuard guard;
  set_cuda_kernel_set("vendor");
  try {
    cuda_kernels(Device::CUDA_EMU);
    FAIL() << "cuda-emu with --kernels vendor did not throw";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("--kernels vendor needs a real GPU: cuBLAS and cuDNN cannot run on the "
                                         "emulator"),
              std::string::npos)
        << e.what();
  }
  set_cuda_kernel_set("ours");
  EXPECT_STREQ(cuda_kernels(Device::CUDA_EMU).name, "cuda-emu");
}

TEST(KernelSet, UnknownNameThrows) {
  KernelSetGuard guard;
  EXPECT_THROW(set_cuda_kernel_set("cublas"), std::invalid_argument);
  EXPECT_THROW(set_cuda_kernel_set(""), std::invalid_argument);
  EXPECT_STREQ(cuda_kernels(Device::CUDA_EMU).name, "cuda-emu");  // the set did not change
}

#if defined(GRADCORE_HAVE_CUDA_VENDOR)

// Building the table makes no CUDA call, so this runs without a device.
TEST(KernelSet, VendorTableReplacesOnlySgemmAndConv) {
  const cuda::Kernels &v = cuda::vendor::kernels(), &ours = cuda::gpu::kernels();
  EXPECT_EQ(v.sgemm, &cuda::vendor::sgemm);
  ASSERT_EQ(v.sgemm_version_count, 1);
  EXPECT_EQ(v.sgemm_versions[0].fn, v.sgemm);
  EXPECT_EQ(v.conv2d_forward, &cuda::vendor::conv2d_forward);
  EXPECT_EQ(v.conv2d_backward_input, &cuda::vendor::conv2d_backward_input);
  EXPECT_EQ(v.conv2d_backward_weight, &cuda::vendor::conv2d_backward_weight);
  EXPECT_EQ(v.conv2d_backward_bias, &cuda::vendor::conv2d_backward_bias);
  EXPECT_EQ(v.malloc, ours.malloc);  // one allocator for both sets
  EXPECT_EQ(v.free, ours.free);
  EXPECT_EQ(v.max_pool2d_forward, ours.max_pool2d_forward);  // argmax contract: ours
  EXPECT_EQ(v.max_pool2d_backward, ours.max_pool2d_backward);
  EXPECT_EQ(v.avg_pool2d_forward, ours.avg_pool2d_forward);
  EXPECT_EQ(v.relu_forward, ours.relu_forward);
  EXPECT_EQ(v.softmax_cross_entropy_forward, ours.softmax_cross_entropy_forward);
  EXPECT_EQ(v.adam_update, ours.adam_update);
}

// Shapes are checked before any CUDA call, so this runs without a device too.
TEST(KernelSet, VendorEntriesRejectInvalidShapes) {
  const cuda::Kernels& v = cuda::vendor::kernels();
  EXPECT_THROW(v.sgemm(false, false, -1, 2, 2, 1.0f, nullptr, 2, nullptr, 2, 0.0f, nullptr, 2),
               std::invalid_argument);
  EXPECT_THROW(v.sgemm(false, false, 4, 4, 4, 1.0f, nullptr, 3, nullptr, 4, 0.0f, nullptr, 4), std::invalid_argument);
  EXPECT_THROW(v.conv2d_forward(cpu::Conv2dShape{1, 1, 2, 2, 1, 3, 3}, nullptr, nullptr, nullptr, nullptr),
               std::invalid_argument);
}

#endif

}  // namespace
}  // namespace gc

#if defined(GRADCORE_HAVE_CUDA_VENDOR)
namespace gc::cuda::test {
namespace {

#define GC_REQUIRE_GPU()                                                                                 \
  do {                                                                                                   \
    if (table().device_count() == 0)                                                                     \
      GTEST_SKIP() << "no CUDA device: the vendor table (cuBLAS/cuDNN) runs only on a real GPU";         \
  } while (0)

constexpr double kTol = 1e-4;

TEST(VendorTable, EngineHandsOutTheVendorTable) {
  GC_REQUIRE_GPU();
  KernelSetGuard guard;
  set_cuda_kernel_set("vendor");
  EXPECT_EQ(&cuda_kernels(Device::CUDA), &vendor::kernels());
  set_cuda_kernel_set("ours");
  EXPECT_EQ(&cuda_kernels(Device::CUDA), &gpu::kernels());
}

TEST(VendorTable, SgemmMatchesOurs) {
  GC_REQUIRE_GPU();
  const Kernels &ours = table(), &v = vendor::kernels();
  struct Shape {
    int m, n, k;
  };
  // The seed CNN's linear layers at batch 128 (forward, grad-input, grad-weight
  // shapes), then odd sizes that fit no tile, and degenerate ones.
  for (const Shape& sh : {Shape{128, 64, 576}, Shape{128, 576, 64}, Shape{64, 576, 128}, Shape{128, 10, 64},
                          Shape{257, 130, 67}, Shape{33, 17, 5}, Shape{1, 1, 1}, Shape{1, 300, 7}})
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        SCOPED_TRACE("m=" + std::to_string(sh.m) + " n=" + std::to_string(sh.n) + " k=" + std::to_string(sh.k) +
                     (ta ? " A^T" : "") + (tb ? " B^T" : ""));
        const int lda = ta ? sh.m : sh.k, ldb = tb ? sh.k : sh.n;
        const auto a = random_vector(size_t(sh.m) * sh.k, 401), b = random_vector(size_t(sh.k) * sh.n, 402);
        const auto c0 = random_vector(size_t(sh.m) * sh.n, 403);
        const auto aa = abs_of(a), ab = abs_of(b);
        auto mag2 = abs_of(c0);  // becomes 0.5·Σ|a||b| + 2·|c|
        DeviceBuffer<float> da(a), db(b);
        // beta = 0 (C poisoned, never read), then alpha = 0.5, beta = 2 over a random C.
        std::vector<float> mag(size_t(sh.m) * sh.n);
        cpu::sgemm(ta, tb, sh.m, sh.n, sh.k, 1.0f, aa.data(), lda, ab.data(), ldb, 0.0f, mag.data(), sh.n);
        PoisonedBuffer got(mag.size()), want(mag.size());
        v.sgemm(ta, tb, sh.m, sh.n, sh.k, 1.0f, da.get(), lda, db.get(), ldb, 0.0f, got.get(), sh.n);
        ours.sgemm(ta, tb, sh.m, sh.n, sh.k, 1.0f, da.get(), lda, db.get(), ldb, 0.0f, want.get(), sh.n);
        EXPECT_TRUE(close(got.download(), want.download(), mag, kTol)) << "beta 0";

        cpu::sgemm(ta, tb, sh.m, sh.n, sh.k, 0.5f, aa.data(), lda, ab.data(), ldb, 2.0f, mag2.data(), sh.n);
        DeviceBuffer<float> got2(c0), want2(c0);
        v.sgemm(ta, tb, sh.m, sh.n, sh.k, 0.5f, da.get(), lda, db.get(), ldb, 2.0f, got2.get(), sh.n);
        ours.sgemm(ta, tb, sh.m, sh.n, sh.k, 0.5f, da.get(), lda, db.get(), ldb, 2.0f, want2.get(), sh.n);
        EXPECT_TRUE(close(got2.download(), want2.download(), mag2, kTol)) << "alpha 0.5, beta 2";
      }
}

// Every conv2d entry of both tables on s: forward with and without bias,
// grad-input, grad-weight, grad-bias.
void expect_conv_match(const cpu::Conv2dShape& s) {
  const Kernels &ours = table(), &v = vendor::kernels();
  const size_t xs = size_t(s.n) * s.c_in * s.h * s.w, ws = size_t(s.c_out) * s.c_in * s.kh * s.kw;
  const size_t ys = size_t(s.n) * s.c_out * s.out_h() * s.out_w();
  const auto x = random_vector(xs, 501), w = random_vector(ws, 502), bias = random_vector(s.c_out, 503);
  const auto dy = random_vector(ys, 504);
  const auto ax = abs_of(x), aw = abs_of(w), abias = abs_of(bias), ady = abs_of(dy);
  DeviceBuffer<float> dx(x), dw(w), dbias(bias), ddy(dy);

  for (const float* b : {static_cast<const float*>(dbias.get()), static_cast<const float*>(nullptr)}) {
    std::vector<float> mag(ys);
    cpu::conv2d_forward(s, ax.data(), aw.data(), b ? abias.data() : nullptr, mag.data());
    PoisonedBuffer got(ys), want(ys);
    v.conv2d_forward(s, dx.get(), dw.get(), b, got.get());
    ours.conv2d_forward(s, dx.get(), dw.get(), b, want.get());
    EXPECT_TRUE(close(got.download(), want.download(), mag, kTol)) << "forward" << (b ? "" : " without bias");
  }

  std::vector<float> mag_gx(xs), mag_gw(ws), mag_gb(s.c_out);
  cpu::conv2d_backward_input(s, ady.data(), aw.data(), mag_gx.data());
  cpu::conv2d_backward_weight(s, ax.data(), ady.data(), mag_gw.data());
  cpu::conv2d_backward_bias(s, ady.data(), mag_gb.data());
  PoisonedBuffer gx(xs), gx_ours(xs), gw(ws), gw_ours(ws), gb(s.c_out), gb_ours(s.c_out);
  v.conv2d_backward_input(s, ddy.get(), dw.get(), gx.get());
  ours.conv2d_backward_input(s, ddy.get(), dw.get(), gx_ours.get());
  EXPECT_TRUE(close(gx.download(), gx_ours.download(), mag_gx, kTol)) << "grad-input";
  v.conv2d_backward_weight(s, dx.get(), ddy.get(), gw.get());
  ours.conv2d_backward_weight(s, dx.get(), ddy.get(), gw_ours.get());
  EXPECT_TRUE(close(gw.download(), gw_ours.download(), mag_gw, kTol)) << "grad-weight";
  v.conv2d_backward_bias(s, ddy.get(), gb.get());
  ours.conv2d_backward_bias(s, ddy.get(), gb_ours.get());
  EXPECT_TRUE(close(gb.download(), gb_ours.download(), mag_gb, kTol)) << "grad-bias";
}

TEST(VendorTable, ConvMatchesOursAtTheSeedShapes) {
  GC_REQUIRE_GPU();
  for (int batch : {1, 128})
    for (const cpu::Conv2dShape& s : {cpu::Conv2dShape{batch, 1, 28, 28, 32, 3, 3},
                                      cpu::Conv2dShape{batch, 32, 13, 13, 64, 3, 3},
                                      cpu::Conv2dShape{batch, 64, 5, 5, 64, 3, 3}}) {
      SCOPED_TRACE("batch " + std::to_string(batch) + " c_in " + std::to_string(s.c_in));
      expect_conv_match(s);
    }
}

TEST(VendorTable, ConvMatchesOursAtOddShapes) {
  GC_REQUIRE_GPU();
  cpu::Conv2dShape strided{3, 5, 17, 11, 7, 3, 5};
  strided.stride_h = 2;
  strided.pad_h = 1;
  strided.pad_w = 2;
  cpu::Conv2dShape dilated{2, 3, 9, 14, 4, 2, 3};
  dilated.dil_h = 2;
  dilated.dil_w = 3;
  dilated.stride_w = 3;
  dilated.pad_w = 1;
  for (const cpu::Conv2dShape& s : {strided, dilated, cpu::Conv2dShape{1, 1, 1, 1, 1, 1, 1},
                                    cpu::Conv2dShape{5, 6, 7, 7, 9, 7, 7}}) {
    SCOPED_TRACE("c_in " + std::to_string(s.c_in) + " " + std::to_string(s.h) + "x" + std::to_string(s.w));
    expect_conv_match(s);
  }
  // Same shape again: the cached descriptors and algorithms are reused.
  expect_conv_match(strided);
}

}  // namespace
}  // namespace gc::cuda::test
#endif
