// Ours vs the vendor libraries on a real GPU (label gpu; every test skips
// without a device): each SGEMM version against cuBLAS (FP32, no TF32) with
// every transpose, and conv2d forward / grad-input / grad-weight and max
// pooling against cuDNN, at the seed CNN's shapes. Same criterion as the
// CPU parity tests (harness.h), the magnitudes from the CPU on |inputs|.
#include <vector>

#include "kernels/cpu/conv2d.h"
#include "kernels/cpu/gemm.h"
#include "tests/cuda/harness.h"
#include "kernels/cuda/vendor/vendor.h"

namespace gc::cuda::test {
namespace {

TEST(Vendor, EverySgemmVersionMatchesCublas) {
  GC_REQUIRE_DEVICE();
  const Kernels& k = table();
  struct Shape {
    int m, n, k;
  };
  for (const Shape& sh : {Shape{257, 130, 67}, Shape{512, 512, 512}})
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        const int lda = ta ? sh.m : sh.k, ldb = tb ? sh.k : sh.n;
        const auto a = random_vector(size_t(sh.m) * sh.k, 201), b = random_vector(size_t(sh.k) * sh.n, 202);
        const auto aa = abs_of(a), ab = abs_of(b);
        std::vector<float> mag(size_t(sh.m) * sh.n);
        cpu::sgemm(ta, tb, sh.m, sh.n, sh.k, 1.0f, aa.data(), lda, ab.data(), ldb, 0.0f, mag.data(), sh.n);
        DeviceBuffer<float> da(a), db(b);
        PoisonedBuffer want(mag.size());
        vendor::sgemm(ta, tb, sh.m, sh.n, sh.k, 1.0f, da.get(), lda, db.get(), ldb, 0.0f, want.get(), sh.n);
        const auto ref = want.download();
        for (int v = 0; v < k.sgemm_version_count; ++v) {
          SCOPED_TRACE(std::string(k.sgemm_versions[v].name) + " m=" + std::to_string(sh.m) + (ta ? " A^T" : "") +
                       (tb ? " B^T" : ""));
          PoisonedBuffer got(mag.size());
          k.sgemm_versions[v].fn(ta, tb, sh.m, sh.n, sh.k, 1.0f, da.get(), lda, db.get(), ldb, 0.0f, got.get(), sh.n);
          EXPECT_TRUE(close(got.download(), ref, mag));
        }
      }
}

TEST(Vendor, ConvAndPoolMatchCudnnAtTheSeedShapes) {
  GC_REQUIRE_DEVICE();
  const Kernels& k = table();
  for (int batch : {1, 16})
    for (const cpu::Conv2dShape& s : {cpu::Conv2dShape{batch, 1, 28, 28, 32, 3, 3},
                                      cpu::Conv2dShape{batch, 32, 13, 13, 64, 3, 3},
                                      cpu::Conv2dShape{batch, 64, 5, 5, 64, 3, 3}}) {
      SCOPED_TRACE("batch " + std::to_string(batch) + " c_in " + std::to_string(s.c_in));
      const size_t xs = size_t(s.n) * s.c_in * s.h * s.w, ws = size_t(s.c_out) * s.c_in * s.kh * s.kw;
      const size_t ys = size_t(s.n) * s.c_out * s.out_h() * s.out_w();
      const auto x = random_vector(xs, 301), w = random_vector(ws, 302), bias = random_vector(s.c_out, 303);
      const auto dy = random_vector(ys, 304);
      const auto ax = abs_of(x), aw = abs_of(w), abias = abs_of(bias), ady = abs_of(dy);
      DeviceBuffer<float> dx(x), dw(w), dbias(bias), ddy(dy);

      PoisonedBuffer ours(ys), theirs(ys);
      std::vector<float> mag(ys);
      cpu::conv2d_forward(s, ax.data(), aw.data(), abias.data(), mag.data());
      k.conv2d_forward(s, dx.get(), dw.get(), dbias.get(), ours.get());
      vendor::conv2d_forward(s, dx.get(), dw.get(), dbias.get(), theirs.get());
      EXPECT_TRUE(close(ours.download(), theirs.download(), mag)) << "forward";

      PoisonedBuffer gx(xs), gx_ref(xs);
      std::vector<float> mag_gx(xs);
      cpu::conv2d_backward_input(s, ady.data(), aw.data(), mag_gx.data());
      k.conv2d_backward_input(s, ddy.get(), dw.get(), gx.get());
      vendor::conv2d_backward_input(s, ddy.get(), dw.get(), gx_ref.get());
      EXPECT_TRUE(close(gx.download(), gx_ref.download(), mag_gx)) << "grad-input";

      PoisonedBuffer gw(ws), gw_ref(ws);
      std::vector<float> mag_gw(ws);
      cpu::conv2d_backward_weight(s, ax.data(), ady.data(), mag_gw.data());
      k.conv2d_backward_weight(s, dx.get(), ddy.get(), gw.get());
      vendor::conv2d_backward_weight(s, dx.get(), ddy.get(), gw_ref.get());
      EXPECT_TRUE(close(gw.download(), gw_ref.download(), mag_gw)) << "grad-weight";

      const cpu::Pool2dShape p{s.n, s.c_out, s.out_h(), s.out_w(), 2, 2, 2, 2};
      const size_t ps = size_t(p.n) * p.c * p.out_h() * p.out_w();
      PoisonedBuffer py(ps), py_ref(ps);
      DeviceBuffer<int32_t> arg(ps);
      k.max_pool2d_forward(p, ours.get(), py.get(), arg.get());
      vendor::max_pool2d_forward(p, ours.get(), py_ref.get());
      EXPECT_TRUE(equal(py.download(), py_ref.download())) << "max pool";
    }
}

}  // namespace
}  // namespace gc::cuda::test
