// Output sizes and validation of conv2d and pool2d shapes for the CUDA
// backend, the same formulas and rules as kernels/cpu/conv2d.h and pool2d.h
// (Conv2dShape::out_h and friends live in gc_kernels_cpu, which the CUDA
// libraries do not link; tests/cuda checks the two agree).
#pragma once

#include <stdexcept>
#include <string>

#include "kernels/cpu/conv2d.h"
#include "kernels/cpu/pool2d.h"

namespace gc::cuda::conv_shapes {

// floor((size + 2·pad − dil·(k − 1) − 1) / stride) + 1; 0 when the window does not fit.
inline int out_size(int size, int pad, int dil, int k, int stride) {
  const long long span = static_cast<long long>(dil) * (k - 1) + 1;
  const long long room = static_cast<long long>(size) + 2LL * pad - span;
  if (stride < 1 || room < 0) return 0;
  return static_cast<int>(room / stride + 1);
}

inline int out_h(const cpu::Conv2dShape& s) { return out_size(s.h, s.pad_h, s.dil_h, s.kh, s.stride_h); }
inline int out_w(const cpu::Conv2dShape& s) { return out_size(s.w, s.pad_w, s.dil_w, s.kw, s.stride_w); }
inline int out_h(const cpu::Pool2dShape& s) { return out_size(s.h, s.pad_h, 1, s.kh, s.stride_h); }
inline int out_w(const cpu::Pool2dShape& s) { return out_size(s.w, s.pad_w, 1, s.kw, s.stride_w); }

inline void validate(const cpu::Conv2dShape& s, const char* op) {
  const bool ok = s.n >= 1 && s.c_in >= 1 && s.h >= 1 && s.w >= 1 && s.c_out >= 1 && s.kh >= 1 && s.kw >= 1 &&
                  s.stride_h >= 1 && s.stride_w >= 1 && s.dil_h >= 1 && s.dil_w >= 1 && s.pad_h >= 0 &&
                  s.pad_w >= 0 && out_h(s) >= 1 && out_w(s) >= 1 &&
                  static_cast<long long>(s.c_in) * s.kh * s.kw * s.n * out_h(s) * out_w(s) < (1LL << 31);
  if (!ok)
    throw std::invalid_argument(std::string(op) + ": invalid shape n=" + std::to_string(s.n) + " c_in=" +
                                std::to_string(s.c_in) + " " + std::to_string(s.h) + "x" + std::to_string(s.w) +
                                " c_out=" + std::to_string(s.c_out) + " kernel " + std::to_string(s.kh) + "x" +
                                std::to_string(s.kw));
}

inline void validate(const cpu::Pool2dShape& s, const char* op) {
  const bool ok = s.n >= 1 && s.c >= 1 && s.h >= 1 && s.w >= 1 && s.kh >= 1 && s.kw >= 1 && s.stride_h >= 1 &&
                  s.stride_w >= 1 && s.pad_h >= 0 && s.pad_w >= 0 && s.pad_h < s.kh && s.pad_w < s.kw &&
                  out_h(s) >= 1 && out_w(s) >= 1;
  if (!ok)
    throw std::invalid_argument(std::string(op) + ": invalid shape n=" + std::to_string(s.n) + " c=" +
                                std::to_string(s.c) + " " + std::to_string(s.h) + "x" + std::to_string(s.w) +
                                " window " + std::to_string(s.kh) + "x" + std::to_string(s.kw));
}

}  // namespace gc::cuda::conv_shapes
