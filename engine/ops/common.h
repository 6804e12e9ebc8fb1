// Checks shared by the op implementations.
#pragma once

#include <initializer_list>
#include <string>

#include "engine/tensor.h"

namespace gc::detail {

// All defined tensors on the CPU, with the same dtype; else a clear error naming the op.
void check_cpu_same_dtype(const char* op, std::initializer_list<Tensor> tensors);
void check_rank(const char* op, const char* what, const Tensor& t, int rank);

// Inside a backward rule: does this input need a gradient?
inline bool wants_grad(const Tensor& t) { return t.defined() && (t.requires_grad() || t.grad_fn()); }

}  // namespace gc::detail
