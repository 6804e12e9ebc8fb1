#include "engine/ops/common.h"

#include <stdexcept>

namespace gc::detail {

void check_cpu_same_dtype(const char* op, std::initializer_list<Tensor> tensors) {
  const Tensor* first = nullptr;
  for (const Tensor& t : tensors) {
    if (!t.defined()) continue;
    if (t.device() != Device::CPU)
      throw std::runtime_error(std::string(op) + ": no " + device_name(t.device()) +
                               " implementation in this build (tensor is on " + device_name(t.device()) + ")");
    if (first && first->dtype() != t.dtype())
      throw std::invalid_argument(std::string(op) + ": dtypes differ (" + dtype_name(first->dtype()) +
                                  " vs " + dtype_name(t.dtype()) + ")");
    first = &t;
  }
}

void check_rank(const char* op, const char* what, const Tensor& t, int rank) {
  if (t.rank() != rank)
    throw_shape_error(op, std::string(what) + " must have " + std::to_string(rank) +
                              " dimensions, got shape " + t.shape().str());
}

}  // namespace gc::detail
