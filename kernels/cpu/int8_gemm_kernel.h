// Internal interface between the int8 GEMM driver (int8_gemm.cpp) and its
// per-ISA micro-kernels (int8_gemm_{avx2,avxvnni,avx512vnni}.cpp).
//
// A micro-kernel computes one full tile of C: mr rows × 16 output channels,
// from mr rows of A (row i at a + i·lda, k_quads·4 bytes each) and one packed
// weight panel (int8_gemm.h). The driver pads the edges of A and C, so a
// kernel never branches on size.
#pragma once

#include <cstddef>
#include <cstdint>

namespace gc::cpu::int8_detail {

inline constexpr int kPanelWidth = 16;      // output channels per packed panel
inline constexpr int kPanelQuadBytes = 64;  // 16 channels × 4 weights

using TileFn = void (*)(int k_quads, const uint8_t* a, std::ptrdiff_t lda, const int8_t* panel,
                        int32_t* c, std::ptrdiff_t ldc);

struct MicroKernel {
  int mr;
  TileFn compute;        // exact for any weights (the AVX2 split pass included)
  TileFn compute_fast;   // exact only when PackedS8Weights::pairs_fit_s16; else == compute
};

const MicroKernel& micro_kernel_avx2();
const MicroKernel& micro_kernel_avx_vnni();
const MicroKernel& micro_kernel_avx512_vnni();

}  // namespace gc::cpu::int8_detail
