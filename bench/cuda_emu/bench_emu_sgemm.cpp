// The emulator's cost: an emulated 256x256x256 SGEMM (the zoo's 16x16 tiled
// kernel, tests/cuda_emu/zoo/gemm.cu) against a plain CPU triple loop. Built
// once per emulator variant (plain, racecheck, memcheck) to give each mode's
// slowdown. Prints the best of several runs in milliseconds.
#include "kernels/cuda/launch.h"
#include "tests/cuda_emu/zoo/zoo.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>

namespace {

constexpr int kSize = 256;

template <typename F>
double best_ms(int runs, F&& run) {
  double best = 1e30;
  for (int r = 0; r < runs; ++r) {
    const auto start = std::chrono::steady_clock::now();
    run();
    best = std::min(best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "plain";
  const int runs = argc > 2 ? std::atoi(argv[2]) : 3;
  const std::size_t n = kSize * kSize;
  std::vector<float> a(n), b(n), c(n), reference(n);
  for (std::size_t i = 0; i < n; ++i) {
    a[i] = static_cast<float>(i % 17) / 17.0f - 0.5f;
    b[i] = static_cast<float>(i % 13) / 13.0f - 0.5f;
  }
  const double cpu_ms = best_ms(runs, [&] {
    for (int i = 0; i < kSize; ++i)
      for (int j = 0; j < kSize; ++j) {
        float sum = 0.0f;
        for (int p = 0; p < kSize; ++p) sum += a[i * kSize + p] * b[p * kSize + j];
        reference[i * kSize + j] = sum;
      }
  });
  float *d_a, *d_b, *d_c;
  GC_CUDA_CHECK(cudaMalloc(&d_a, n * sizeof(float)));
  GC_CUDA_CHECK(cudaMalloc(&d_b, n * sizeof(float)));
  GC_CUDA_CHECK(cudaMalloc(&d_c, n * sizeof(float)));
  GC_CUDA_CHECK(cudaMemcpy(d_a, a.data(), n * sizeof(float), cudaMemcpyHostToDevice));
  GC_CUDA_CHECK(cudaMemcpy(d_b, b.data(), n * sizeof(float), cudaMemcpyHostToDevice));
  const double emu_ms = best_ms(runs, [&] { gc::zoo::sgemm_tiled(d_a, d_b, d_c, kSize, kSize, kSize); });
  GC_CUDA_CHECK(cudaMemcpy(c.data(), d_c, n * sizeof(float), cudaMemcpyDeviceToHost));
  float worst = 0.0f;
  for (std::size_t i = 0; i < n; ++i) worst = std::max(worst, std::fabs(c[i] - reference[i]));
  cudaFree(d_a);
  cudaFree(d_b);
  cudaFree(d_c);
  std::printf("sgemm 256x256x256  mode %-9s  cpu loop %8.2f ms  emulated %9.2f ms  (%.0fx)  max |diff| %.2g\n", mode,
              cpu_ms, emu_ms, emu_ms / cpu_ms, worst);
  return worst <= 1e-3f ? 0 : 1;  // NaN fails
}
