// Sequential: modules applied in order. Parameters are named after the layer
// kind and its 1-based count of that kind: conv1.weight, conv2.bias, fc1.weight.
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
  std::vector<std::unique_ptr<Module>> layers_;
};

}  // namespace gc
