// Packing routines shared by the micro-kernel files; included (and so compiled
// with each file's SIMD flags) by sgemm_kernel_*.cpp. Layouts: sgemm_kernel.h.
#pragma once

#include <cstring>

#include "kernels/cpu/sgemm_kernel.h"

namespace gc::cpu::sgemm_detail {

template <int MR>
void pack_a_panel(int rows, int kc, StridedMatrix a, float* panel) {
  if (a.col_stride == 1) {
    // Rows of A are contiguous in p: read each row once, scatter by MR.
    for (int i = 0; i < rows; ++i) {
      const float* src = a.data + i * a.row_stride;
      for (int p = 0; p < kc; ++p) panel[p * MR + i] = src[p];
    }
  } else {
    for (int p = 0; p < kc; ++p) {
      const float* src = a.data + p * a.col_stride;
      for (int i = 0; i < rows; ++i) panel[p * MR + i] = src[i * a.row_stride];
    }
  }
  for (int i = rows; i < MR; ++i) {
    for (int p = 0; p < kc; ++p) panel[p * MR + i] = 0.0f;
  }
}

template <int NR>
void pack_b_panel(int kc, int cols, StridedMatrix b, float* panel) {
  if (b.col_stride == 1) {
    for (int p = 0; p < kc; ++p) {
      float* dst = panel + p * NR;
      std::memcpy(dst, b.data + p * b.row_stride, sizeof(float) * cols);
      for (int j = cols; j < NR; ++j) dst[j] = 0.0f;
    }
  } else {
    // Columns of B are contiguous in p (B is stored transposed).
    for (int j = 0; j < cols; ++j) {
      const float* src = b.data + j * b.col_stride;
      for (int p = 0; p < kc; ++p) panel[p * NR + j] = src[p * b.row_stride];
    }
    for (int p = 0; p < kc; ++p) {
      for (int j = cols; j < NR; ++j) panel[p * NR + j] = 0.0f;
    }
  }
}

}  // namespace gc::cpu::sgemm_detail
