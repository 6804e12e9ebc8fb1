// Tensor: a shaped view of a Storage, plus what autograd needs (requires_grad,
// the accumulated gradient, and the tape node that produced it).
//
// A Tensor is a cheap handle (shared_ptr); copies alias the same tensor.
// Storage is always contiguous row-major; reshape/flatten/detach make new
// tensors over the same storage without copying.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/dtype.h"
#include "engine/shape.h"
#include "engine/storage.h"

namespace gc {

struct Node;
class Tensor;

// Called with a tensor's gradient once it is complete during backward (a
// leaf's: as soon as the last op that reads it has run backward); may
// modify it in place (the change is what flows on / what the optimizer sees).
using GradHook = std::function<void(Tensor& grad)>;

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  DType dtype = DType::F32;
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;  // leaves: accumulated by backward()
  std::shared_ptr<Node> grad_fn;     // null for leaves and for no-grad results
  std::vector<GradHook> hooks;
  std::string name;                  // optional, shown in graph dumps
};

class Tensor {
 public:
  Tensor() = default;  // undefined tensor
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- construction ----
  static Tensor empty(const Shape& shape, DType dtype = DType::F32, Device device = Device::CPU);
  static Tensor zeros(const Shape& shape, DType dtype = DType::F32, Device device = Device::CPU);
  static Tensor full(const Shape& shape, double value, DType dtype = DType::F32,
                     Device device = Device::CPU);
  static Tensor from_vector(const Shape& shape, const std::vector<float>& values);
  static Tensor from_vector(const Shape& shape, const std::vector<double>& values);

  // ---- properties ----
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().shape; }
  int64_t dim(int i) const { return impl().shape[i]; }
  int rank() const { return impl().shape.rank(); }
  int64_t numel() const { return impl().shape.numel(); }
  DType dtype() const { return impl().dtype; }
  Device device() const { return impl().storage->device(); }
  size_t bytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype()); }
  const std::string& name() const { return impl().name; }
  Tensor& set_name(std::string name);

  // Typed pointer to the elements; throws when T does not match dtype().
  template <typename T> T* data() const;
  void* raw_data() const { return impl().storage->data(); }
  // The single value of a one-element CPU tensor, as double.
  double item() const;
  // Copies the elements to a vector (converting to double); CPU only.
  std::vector<double> to_doubles() const;

  // ---- views and copies ----
  // Same storage, new shape (numel must match). Recorded by autograd.
  Tensor reshape(const Shape& shape) const;
  // [N, ...] → [N, rest]. Recorded by autograd.
  Tensor flatten() const;
  // Same storage, cut off from the graph (no grad_fn, requires_grad false).
  Tensor detach() const;
  // Deep copy (not recorded by autograd).
  Tensor clone() const;
  // Copy converted to another dtype / device (not recorded by autograd).
  Tensor to(DType dtype) const;
  Tensor to(Device device) const;
  // Overwrites the elements with `value` / with `other`'s (same shape).
  void fill_(double value);
  void copy_from(const Tensor& other);

  // ---- autograd ----
  bool requires_grad() const { return impl().requires_grad; }
  Tensor& requires_grad_(bool on = true);
  // The accumulated gradient of a leaf (undefined before any backward).
  Tensor grad() const { return Tensor(impl().grad); }
  void zero_grad() { impl().grad.reset(); }
  const std::shared_ptr<Node>& grad_fn() const { return impl().grad_fn; }
  bool is_leaf() const { return impl().grad_fn == nullptr; }
  // Back-propagates from this scalar through the tape, then frees the graph.
  void backward() const;
  // Registers a hook on this tensor's gradient (see GradHook).
  void register_hook(GradHook hook);

  TensorImpl& impl() const;
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool same(const Tensor& other) const { return impl_ == other.impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

// "op: shapes [2, 3] and [4, 5] do not match"-style messages.
[[noreturn]] void throw_shape_error(const std::string& op, const std::string& what);

}  // namespace gc
