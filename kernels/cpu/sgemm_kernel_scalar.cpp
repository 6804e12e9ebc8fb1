// Portable SGEMM micro-kernel (baseline x86-64 / any target): a 4 × 8 tile of
// C in 32 scalar accumulators; plain loops the compiler may vectorize with
// whatever the baseline ISA offers. Same packed layouts as the SIMD kernels.
#include "kernels/cpu/sgemm_pack.h"

namespace gc::cpu::sgemm_detail {
namespace {

constexpr int kMR = 4;
constexpr int kNR = 8;

void compute(int kc, const float* a, const float* b, float* c, std::ptrdiff_t ldc, float alpha,
             float beta) {
  float acc[kMR][kNR] = {};
  for (int p = 0; p < kc; ++p) {
    for (int i = 0; i < kMR; ++i) {
      for (int j = 0; j < kNR; ++j) acc[i][j] += a[i] * b[j];
    }
    a += kMR;
    b += kNR;
  }
  for (int i = 0; i < kMR; ++i) {
    float* row = c + i * ldc;
    for (int j = 0; j < kNR; ++j) {
      row[j] = beta == 0.0f ? alpha * acc[i][j] : alpha * acc[i][j] + beta * row[j];
    }
  }
}

}  // namespace

const MicroKernel& micro_kernel_scalar() {
  static const MicroKernel kernel{kMR, kNR, 128, 256, 2048, compute, pack_a_panel<kMR>,
                                  pack_b_panels<kNR>};
  return kernel;
}

}  // namespace gc::cpu::sgemm_detail
