// Internal interface between the SGEMM driver (sgemm.cpp) and its per-ISA
// micro-kernels (sgemm_kernel_{avx512,avx2,scalar}.cpp). The only other
// caller is the Winograd forward pass (conv2d_winograd.cpp), which keeps its
// operands in the packed layouts below and calls `compute` directly.
//
// Packed layouts (zero-padded at the edges, so the micro-kernel never
// branches on size):
//   A panel: MR rows of op(A) × kc, stored p-major: panel[p*MR + i] = A(i, p)
//   B panel: kc × NR columns of op(B), stored p-major: panel[p*NR + j] = B(p, j)
#pragma once

#include <cstddef>

namespace gc::cpu::sgemm_detail {

// A strided read-only view: element (r, c) is at data[r*row_stride + c*col_stride].
// A transposed operand is the same memory with the strides swapped.
struct StridedMatrix {
  const float* data;
  std::ptrdiff_t row_stride;
  std::ptrdiff_t col_stride;
};

struct MicroKernel {
  int mr, nr;      // register tile: C tile is mr × nr
  int mc, kc, nc;  // cache blocks: A block mc×kc in L2, B block kc×nc in L3
  // c[i*ldc + j] = alpha · Σ_p a[p*mr+i]·b[p*nr+j] + beta · c[i*ldc + j]
  // over the full mr × nr tile; beta == 0 never reads c.
  void (*compute)(int kc, const float* a_panel, const float* b_panel, float* c,
                  std::ptrdiff_t ldc, float alpha, float beta);
  // Packs rows [0, rows) × cols [0, kc) of `a` into one A panel (rows ≤ mr).
  void (*pack_a)(int rows, int kc, StridedMatrix a, float* panel);
  // Packs rows [0, kc) × cols [0, cols) of `b` into ⌈cols/nr⌉ consecutive
  // B panels.
  void (*pack_b)(int kc, int cols, StridedMatrix b, float* panels);
};

// The micro-kernel sgemm uses on this CPU (active_simd_level()).
const MicroKernel& active_micro_kernel();

const MicroKernel& micro_kernel_avx512();
const MicroKernel& micro_kernel_avx2();
const MicroKernel& micro_kernel_scalar();

}  // namespace gc::cpu::sgemm_detail
