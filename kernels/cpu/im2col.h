// im2col / col2im for conv2d (see conv2d.h): unfold input patches into GEMM
// columns, and fold column gradients back onto the input.
#pragma once

#include <cstddef>

#include "kernels/cpu/conv2d.h"

namespace gc::cpu {

// Unfolds `count` consecutive images starting at x (each c_in×h×w) into col,
// a [c_in·kh·kw] × [count·oh·ow] matrix with row stride ld:
//   col[(ci·kh + ki)·kw + kj][img·oh·ow + oy·ow + ox]
//     = x[img][ci][oy·stride_h − pad_h + ki·dil_h][ox·stride_w − pad_w + kj·dil_w]
// and 0 where that position lies in the padding. The shape must be valid.
template <typename T>
void im2col(const Conv2dShape& s, const T* x, int count, T* col, std::ptrdiff_t ld);

// The columns of output rows [row_begin, row_end) of one image, as im2col
// with the rows before row_begin left out: column (oy − row_begin)·ow + ox.
template <typename T>
void im2col_rows(const Conv2dShape& s, const T* x, int row_begin, int row_end, T* col, std::ptrdiff_t ld);

// The adjoint of im2col: overwrites the `count` images at dx with, for every
// input position, the sum of the col entries that im2col copied from it.
// The summation order is fixed, so the result is deterministic.
template <typename T>
void col2im(const Conv2dShape& s, const T* col, std::ptrdiff_t ld, int count, T* dx);

}  // namespace gc::cpu
