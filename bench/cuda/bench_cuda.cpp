// Our CUDA kernels against cuBLAS / cuDNN on a real GPU, timed with CUDA
// events; prints Markdown tables (bench/cuda/run_all.sh appends them to
// bench/RESULTS.md). Without a device it says so and exits 0.
//   - each SGEMM version at 1024³ … 8192³: GFLOP/s and % of cuBLAS (FP32, no TF32)
//   - conv2d forward / grad-input / grad-weight at the seed CNN's layers, batch 128 and 1, vs cuDNN
//   - 2×2 max pooling at the seed CNN's two pools, vs cuDNN
//   - launch overhead: a 1-element fill, launched back to back
// Each figure is the median of up to 7 timed runs after one warm-up run.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <vector>

#include "kernels/cuda/ops.h"
#include "kernels/cuda/vendor/vendor.h"

namespace {

using gc::cuda::Kernels;

// Median milliseconds per call of fn.
double time_ms(const std::function<void()>& fn) {
  cudaEvent_t start, stop;
  cudaEventCreate(&start);
  cudaEventCreate(&stop);
  fn();  // warm-up (and cuDNN's algorithm choice)
  cudaDeviceSynchronize();
  std::vector<float> runs;
  float total = 0.0f;
  while (runs.size() < 7 && total < 2000.0f) {
    cudaEventRecord(start);
    fn();
    cudaEventRecord(stop);
    cudaEventSynchronize(stop);
    float ms = 0.0f;
    cudaEventElapsedTime(&ms, start, stop);
    runs.push_back(ms);
    total += ms;
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  std::sort(runs.begin(), runs.end());
  return runs[runs.size() / 2];
}

float* device_random(const Kernels& k, size_t n, float value) {
  auto* p = static_cast<float*>(k.malloc(n * sizeof(float)));
  k.fill(p, static_cast<int64_t>(n), value);  // timing only: the values do not matter, NaN/denormals are avoided
  return p;
}

void bench_sgemm(const Kernels& k) {
  std::printf("\n### SGEMM, C = A·B (row-major, FP32), GFLOP/s and %% of cuBLAS\n\n| version |");
  const int sizes[] = {1024, 2048, 4096, 8192};
  for (int s : sizes) std::printf(" %d³ |", s);
  std::printf("\n|---|---|---|---|---|\n");
  std::vector<double> cublas_ms;
  for (int s : sizes) {
    float *a = device_random(k, size_t(s) * s, 0.5f), *b = device_random(k, size_t(s) * s, 0.25f),
          *c = device_random(k, size_t(s) * s, 0.0f);
    cublas_ms.push_back(time_ms([&] { gc::cuda::vendor::sgemm(false, false, s, s, s, 1.0f, a, s, b, s, 0.0f, c, s); }));
    k.free(a), k.free(b), k.free(c);
  }
  std::printf("| cuBLAS |");
  for (size_t i = 0; i < cublas_ms.size(); ++i)
    std::printf(" %.0f |", 2.0 * sizes[i] * sizes[i] * double(sizes[i]) / (cublas_ms[i] * 1e6));
  std::printf("\n");
  for (int v = 0; v < k.sgemm_version_count; ++v) {
    std::printf("| %s |", k.sgemm_versions[v].name);
    for (size_t i = 0; i < cublas_ms.size(); ++i) {
      const int s = sizes[i];
      float *a = device_random(k, size_t(s) * s, 0.5f), *b = device_random(k, size_t(s) * s, 0.25f),
            *c = device_random(k, size_t(s) * s, 0.0f);
      const double ms = time_ms([&] { k.sgemm_versions[v].fn(false, false, s, s, s, 1.0f, a, s, b, s, 0.0f, c, s); });
      std::printf(" %.0f (%.0f%%) |", 2.0 * s * s * double(s) / (ms * 1e6), 100.0 * cublas_ms[i] / ms);
      k.free(a), k.free(b), k.free(c);
    }
    std::printf("\n");
    std::fflush(stdout);
  }
}

void bench_conv_pool(const Kernels& k) {
  std::printf("\n### conv2d (3×3, stride 1, no padding) and 2×2 max pooling vs cuDNN, ms per call\n\n");
  std::printf("| layer | batch | pass | ours | cuDNN | ours/cuDNN |\n|---|---|---|---|---|---|\n");
  for (int batch : {128, 1})
    for (const gc::cpu::Conv2dShape& s : {gc::cpu::Conv2dShape{batch, 1, 28, 28, 32, 3, 3},
                                          gc::cpu::Conv2dShape{batch, 32, 13, 13, 64, 3, 3},
                                          gc::cpu::Conv2dShape{batch, 64, 5, 5, 64, 3, 3}}) {
      const size_t xs = size_t(s.n) * s.c_in * s.h * s.w, ws = size_t(s.c_out) * s.c_in * 9;
      const size_t ys = size_t(s.n) * s.c_out * s.out_h() * s.out_w();
      float *x = device_random(k, xs, 0.5f), *w = device_random(k, ws, 0.25f), *bias = device_random(k, s.c_out, 0.1f);
      float *y = device_random(k, ys, 0.0f), *dy = device_random(k, ys, 0.5f), *dx = device_random(k, xs, 0.0f);
      float* dw = device_random(k, ws, 0.0f);
      char layer[64];
      std::snprintf(layer, sizeof(layer), "%d→%d on %d×%d", s.c_in, s.c_out, s.h, s.w);
      auto row = [&](const char* pass, const std::function<void()>& ours, const std::function<void()>& theirs) {
        const double a = time_ms(ours), b = time_ms(theirs);
        std::printf("| %s | %d | %s | %.4f | %.4f | %.2f |\n", layer, batch, pass, a, b, a / b);
      };
      row("forward", [&] { k.conv2d_forward(s, x, w, bias, y); },
          [&] { gc::cuda::vendor::conv2d_forward(s, x, w, bias, y); });
      row("grad-input", [&] { k.conv2d_backward_input(s, dy, w, dx); },
          [&] { gc::cuda::vendor::conv2d_backward_input(s, dy, w, dx); });
      row("grad-weight", [&] { k.conv2d_backward_weight(s, x, dy, dw); },
          [&] { gc::cuda::vendor::conv2d_backward_weight(s, x, dy, dw); });
      if (s.c_in < 64) {  // the seed CNN pools after its first two convolutions
        const gc::cpu::Pool2dShape p{s.n, s.c_out, s.out_h(), s.out_w(), 2, 2, 2, 2};
        float* py = device_random(k, size_t(p.n) * p.c * p.out_h() * p.out_w(), 0.0f);
        auto* arg = static_cast<int32_t*>(k.malloc(size_t(p.n) * p.c * p.out_h() * p.out_w() * sizeof(int32_t)));
        row("max pool 2×2", [&] { k.max_pool2d_forward(p, y, py, arg); },
            [&] { gc::cuda::vendor::max_pool2d_forward(p, y, py); });
        k.free(py), k.free(arg);
      }
      for (float* p : {x, w, bias, y, dy, dx, dw}) k.free(p);
      std::fflush(stdout);
    }
}

void bench_launch(const Kernels& k) {
  float* p = device_random(k, 1, 0.0f);
  const int launches = 1000;
  const double ms = time_ms([&] {
    for (int i = 0; i < launches; ++i) k.fill(p, 1, 1.0f);
  });
  std::printf("\n### Launch overhead\n\n%d back-to-back 1-element fills: %.2f µs per launch (GC_LAUNCH + error check)\n",
              launches, 1000.0 * ms / launches);
  k.free(p);
}

}  // namespace

int main() {
  const Kernels& k = gc::cuda::gpu::kernels();
  if (k.device_count() == 0) {
    std::printf("bench_cuda: no CUDA device (cudaGetDeviceCount reports none): nothing measured\n");
    return 0;
  }
  cudaDeviceProp prop;
  cudaGetDeviceProperties(&prop, 0);
  std::printf("device: %s (sm_%d%d, %d SMs)\n", prop.name, prop.major, prop.minor, prop.multiProcessorCount);
  bench_sgemm(k);
  bench_conv_pool(k);
  bench_launch(k);
  return 0;
}
