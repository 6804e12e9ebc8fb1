// Sequential: modules applied in order. Parameters are named after the layer
// kind and its 1-based count of that kind: conv1.weight, conv2.bias, fc1.weight.
//
// One reordering: a ReLU directly followed by a MaxPool2d runs as the pool,
// then the ReLU. ReLU is monotone, so max(relu(x)) = relu(max(x)), and the
// gradients agree too (dy reaches the window's first maximum exactly when
// that maximum is > 0, either way); only the sign of a zero can differ. The
// ReLU then reads and writes a quarter of the values (2×2 pools), forward and
// backward. The pair runs in spec order whenever either module has a forward
// hook (the backprop lab's statistics and hooks see every layer's output as
// the spec describes it); graph dumps show the order that ran.
//
// One fusion, for inference: a Conv2d followed by a ReLU and a 2×2 stride-2
// MaxPool2d (in either order), none of them observed, runs as one
// conv2d_pool_relu call (engine/ops.h) wherever that op fits: on the CPU,
// with nothing to differentiate. It computes the same function; a training
// forward never fuses.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "layers/module.h"

namespace gc {

class Sequential : public Module {
 public:
  void add(std::unique_ptr<Module> module);
  Tensor forward(const Tensor& x) override;
  // The whole architecture as a spec string (layers/spec.h), space-separated.
  std::string spec() const override;
  std::string kind() const override { return "sequential"; }
  std::vector<ParamRef> parameters() override;
  // Each layer gets its own seed derived from `seed` and its position.
  void reset_parameters(uint64_t seed, const std::string& init) override;
  void set_seed(uint64_t seed) override;

  void set_training_mode(bool training);
  int64_t parameter_count();
  // Converts every parameter to `dtype` in place (f64 for gradient checks).
  void convert_parameters(DType dtype);
  // Moves every parameter to `device` (cpu, cuda, cuda-emu).
  void move_parameters(Device device);
  const std::vector<std::unique_ptr<Module>>& layers() const { return layers_; }

 private:
  bool pool_runs_first(size_t i) const;
  bool fuses_conv_pool_relu(size_t i, const Tensor& x) const;
  std::vector<std::unique_ptr<Module>> layers_;
};

}  // namespace gc
