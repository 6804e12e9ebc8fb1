#include "engine/ops/common.h"

#include <cstring>
#include <stdexcept>

namespace gc::detail {

void check_same_device_dtype(const char* op, std::initializer_list<Tensor> tensors) {
  const Tensor* first = nullptr;
  for (const Tensor& t : tensors) {
    if (!t.defined()) continue;
    if (first && first->device() != t.device())
      throw std::invalid_argument(std::string(op) + ": tensors on different devices (" + device_name(first->device()) +
                                  " and " + device_name(t.device()) + ")");
    if (first && first->dtype() != t.dtype())
      throw std::invalid_argument(std::string(op) + ": dtypes differ (" + dtype_name(first->dtype()) + " vs " +
                                  dtype_name(t.dtype()) + ")");
    if (t.device() != Device::CPU && t.dtype() != DType::F32)
      throw std::invalid_argument(std::string(op) + ": " + device_name(t.device()) + " tensors must be f32, got " +
                                  dtype_name(t.dtype()));
    first = &t;
  }
}

void check_rank(const char* op, const char* what, const Tensor& t, int rank) {
  if (t.rank() != rank)
    throw_shape_error(op, std::string(what) + " must have " + std::to_string(rank) +
                              " dimensions, got shape " + t.shape().str());
}

std::shared_ptr<Storage> device_copy(const void* host, size_t bytes, Device device) {
  auto storage = std::make_shared<Storage>(bytes, device);
  if (device == Device::CPU) std::memcpy(storage->data(), host, bytes);
  else if (bytes > 0) cuda_kernels(device).copy_to_device(storage->data(), host, bytes);
  return storage;
}

}  // namespace gc::detail
