// Shared by the op implementations: argument checks, and running a kernel on
// the tensor's device.
#pragma once

#include <initializer_list>
#include <string>

#include "engine/cuda_backend.h"
#include "engine/tensor.h"

namespace gc::detail {

// All defined tensors on one device with one dtype (f32 on the CUDA
// devices); else a clear error naming the op.
void check_same_device_dtype(const char* op, std::initializer_list<Tensor> tensors);
void check_rank(const char* op, const char* what, const Tensor& t, int rank);

// Inside a backward rule: does this input need a gradient?
inline bool wants_grad(const Tensor& t) { return t.defined() && (t.requires_grad() || t.grad_fn()); }

// Runs the CPU kernel, a template lambda called as cpu.template operator()<T>()
// with T the tensor's dtype, or the CUDA table's f32 kernel on cuda devices:
//   run_kernel(x, [&]<typename T>() { cpu::relu_forward(n, x.data<T>(), y.data<T>()); },
//                 [&](const cuda::Kernels& k) { k.relu_forward(n, x.data<float>(), y.data<float>()); });
template <typename CpuKernel, typename CudaKernel>
decltype(auto) run_kernel(const Tensor& like, CpuKernel&& cpu, CudaKernel&& cuda) {
  if (like.device() == Device::CPU) return dispatch_dtype(like.dtype(), cpu);
  return cuda(cuda_kernels(like.device()));
}

// A device buffer holding a copy of host data (labels, arg-max indices).
std::shared_ptr<Storage> device_copy(const void* host, size_t bytes, Device device);

}  // namespace gc::detail
