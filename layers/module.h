// Module: a layer with named parameters (Caffe's layer contract, PyTorch's
// naming). Sequential chains modules; a model is built from a spec string so
// a model file can record its architecture and rebuild it (layers/spec.h).
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "engine/tensor.h"

namespace gc {

// A parameter as the module holds it: its local name ("weight", "bias") or,
// from Sequential, the full name ("conv2.weight").
struct ParamRef {
  std::string name;
  Tensor* tensor;
};

class Module {
 public:
  using ForwardHook = std::function<void(const Module& module, const Tensor& output)>;

  virtual ~Module() = default;

  // The layer's computation; call through operator() so hooks fire.
  virtual Tensor forward(const Tensor& x) = 0;
  // The spec token that rebuilds this layer, e.g. "conv(1,32,3)".
  virtual std::string spec() const = 0;
  // The short kind used in parameter names: "conv", "fc", "relu", ...
  virtual std::string kind() const = 0;
  virtual std::vector<ParamRef> parameters() { return {}; }
  // Initialises the parameters (He or Xavier), see layers/init.h.
  virtual void reset_parameters(uint64_t /*seed*/, const std::string& /*init*/) {}
  // Seeds the module's randomness in training (dropout masks).
  virtual void set_seed(uint64_t /*seed*/) {}

  Tensor operator()(const Tensor& x);
  // Called with the module's output after every forward (observe only).
  void register_forward_hook(ForwardHook hook) { hooks_.push_back(std::move(hook)); }
  bool has_forward_hooks() const { return !hooks_.empty(); }

  void set_training(bool training) { training_ = training; }
  bool training() const { return training_; }
  const std::string& name() const { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }

 protected:
  bool training_ = true;

 private:
  std::string name_;
  std::vector<ForwardHook> hooks_;
};

}  // namespace gc
