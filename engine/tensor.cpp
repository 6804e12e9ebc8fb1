#include "engine/tensor.h"

#include <cstring>
#include <stdexcept>

#include "engine/autograd.h"
#include "engine/cuda_backend.h"

namespace gc {

void throw_shape_error(const std::string& op, const std::string& what) {
  throw std::invalid_argument(op + ": " + what);
}

static void require_cpu(const Tensor& t, const char* what) {
  if (t.device() != Device::CPU)
    throw std::runtime_error(std::string(what) + ": needs a cpu tensor, got one on " +
                             device_name(t.device()));
}

TensorImpl& Tensor::impl() const {
  if (!impl_) throw std::logic_error("use of an undefined tensor");
  return *impl_;
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(static_cast<size_t>(shape.numel()) * dtype_size(dtype), device);
  impl->shape = shape;
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.fill_(0.0);
  return t;
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.fill_(value);
  return t;
}

template <typename T>
static Tensor tensor_from(const Shape& shape, const std::vector<T>& values) {
  if (static_cast<int64_t>(values.size()) != shape.numel())
    throw_shape_error("from_vector", std::to_string(values.size()) + " values for shape " + shape.str());
  Tensor t = Tensor::empty(shape, dtype_of<T>());
  std::memcpy(t.raw_data(), values.data(), values.size() * sizeof(T));
  return t;
}
Tensor Tensor::from_vector(const Shape& shape, const std::vector<float>& v) { return tensor_from(shape, v); }
Tensor Tensor::from_vector(const Shape& shape, const std::vector<double>& v) { return tensor_from(shape, v); }

Tensor& Tensor::set_name(std::string name) {
  impl().name = std::move(name);
  return *this;
}

template <typename T>
T* Tensor::data() const {
  if (dtype() != dtype_of<T>())
    throw std::invalid_argument(std::string("tensor data: requested ") + dtype_name(dtype_of<T>()) +
                                " but the tensor holds " + dtype_name(dtype()));
  return static_cast<T*>(raw_data());
}
template float* Tensor::data<float>() const;
template double* Tensor::data<double>() const;

double Tensor::item() const {
  if (numel() != 1) throw_shape_error("item", "needs one element, got shape " + shape().str());
  return to_doubles()[0];
}

std::vector<double> Tensor::to_doubles() const {
  if (device() != Device::CPU) return to(Device::CPU).to_doubles();
  return dispatch_dtype(dtype(), [&]<typename T>() {
    const T* p = data<T>();
    return std::vector<double>(p, p + numel());
  });
}

Tensor Tensor::reshape(const Shape& new_shape) const {
  if (new_shape.numel() != numel())
    throw_shape_error("reshape", "cannot view shape " + shape().str() + " as " + new_shape.str());
  auto view = std::make_shared<TensorImpl>();
  view->storage = impl().storage;
  view->shape = new_shape;
  view->dtype = dtype();
  Shape old_shape = shape();
  return record("reshape", {*this}, Tensor(std::move(view)), [old_shape](const Tensor& g) {
    return std::vector<Tensor>{g.reshape(old_shape)};
  });
}

Tensor Tensor::flatten() const {
  if (rank() < 1) throw_shape_error("flatten", "needs at least one dimension, got a scalar");
  return reshape({dim(0), numel() / std::max<int64_t>(dim(0), 1)});
}

Tensor Tensor::detach() const {
  auto view = std::make_shared<TensorImpl>();
  view->storage = impl().storage;
  view->shape = shape();
  view->dtype = dtype();
  return Tensor(std::move(view));
}

Tensor Tensor::clone() const {
  Tensor t = empty(shape(), dtype(), device());
  t.copy_from(*this);
  return t;
}

Tensor Tensor::to(DType target) const {
  require_cpu(*this, "to(dtype)");
  if (target == dtype()) return clone();
  Tensor t = empty(shape(), target, device());
  dispatch_dtype(dtype(), [&]<typename From>() {
    dispatch_dtype(target, [&]<typename To>() {
      const From* src = data<From>();
      To* dst = t.data<To>();
      for (int64_t i = 0; i < numel(); ++i) dst[i] = static_cast<To>(src[i]);
    });
  });
  return t;
}

Tensor Tensor::to(Device target) const {
  Tensor t = empty(shape(), dtype(), target);
  t.copy_from(*this);
  return t;
}

void Tensor::fill_(double value) {
  if (device() != Device::CPU) {
    if (dtype() != DType::F32) throw std::invalid_argument("fill_: cuda tensors are f32 only");
    return cuda_kernels(device()).fill(data<float>(), numel(), static_cast<float>(value));
  }
  dispatch_dtype(dtype(), [&]<typename T>() {
    T* p = data<T>();
    for (int64_t i = 0; i < numel(); ++i) p[i] = static_cast<T>(value);
  });
}

void Tensor::copy_from(const Tensor& other) {
  if (other.shape() != shape() || other.dtype() != dtype())
    throw_shape_error("copy_from", "destination " + shape().str() + " " + dtype_name(dtype()) +
                                       " vs source " + other.shape().str() + " " + dtype_name(other.dtype()));
  if (bytes() == 0) return;
  Device from = other.device(), to = device();
  if (from == Device::CPU && to == Device::CPU) {
    std::memcpy(raw_data(), other.raw_data(), bytes());
  } else if (from == Device::CPU) {
    cuda_kernels(to).copy_to_device(raw_data(), other.raw_data(), bytes());
  } else if (to == Device::CPU) {
    cuda_kernels(from).copy_to_host(raw_data(), other.raw_data(), bytes());
  } else if (from == to) {
    cuda_kernels(to).copy_device(raw_data(), other.raw_data(), bytes());
  } else {  // cuda ↔ cuda-emu: through the host
    copy_from(other.to(Device::CPU));
  }
}

Tensor& Tensor::requires_grad_(bool on) {
  if (on && !is_leaf())
    throw std::logic_error("requires_grad_: only leaf tensors can be marked (use detach() first)");
  impl().requires_grad = on;
  return *this;
}

}  // namespace gc
