// Optimizers: one fused update kernel per parameter tensor
// (kernels/cpu/optimizer.h holds the formulas, which match PyTorch's).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "layers/module.h"

namespace gc {

// What a checkpoint needs to continue an optimizer bit-exactly.
struct OptimizerState {
  std::string kind;
  int64_t step = 0;
  std::vector<std::pair<std::string, Tensor>> buffers;  // "m.conv1.weight", "velocity.fc1.bias", ...
};

class Optimizer {
 public:
  Optimizer(std::vector<ParamRef> params, double lr) : params_(std::move(params)), lr_(lr) {}
  virtual ~Optimizer() = default;

  // Applies one update from each parameter's .grad (parameters without a
  // gradient are skipped), then counts the step.
  void step();
  void zero_grad();
  double lr() const { return lr_; }
  void set_lr(double lr) { lr_ = lr; }
  int64_t steps() const { return step_; }

  virtual std::string kind() const = 0;
  OptimizerState state() const;
  // Throws naming the buffer when a state does not fit these parameters.
  void load_state(const OptimizerState& state);

 protected:
  // Update of parameter i with gradient g, step counted from 1.
  virtual void update(size_t i, Tensor& w, const Tensor& g, int64_t step) = 0;
  // Named per-parameter buffers (allocated lazily by update()).
  virtual std::vector<std::pair<std::string, Tensor*>> buffers() = 0;

  std::vector<ParamRef> params_;
  double lr_;
  int64_t step_ = 0;
};

struct SgdOptions {
  double momentum = 0, weight_decay = 0;
  bool nesterov = false;
};

class Sgd : public Optimizer {
 public:
  Sgd(std::vector<ParamRef> params, double lr, SgdOptions options);
  std::string kind() const override { return "sgd"; }

 protected:
  void update(size_t i, Tensor& w, const Tensor& g, int64_t step) override;
  std::vector<std::pair<std::string, Tensor*>> buffers() override;

 private:
  SgdOptions options_;
  std::vector<Tensor> velocity_;
};

struct AdamOptions {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
  bool decoupled = false;  // AdamW
};

class Adam : public Optimizer {
 public:
  Adam(std::vector<ParamRef> params, double lr, AdamOptions options);
  std::string kind() const override { return options_.decoupled ? "adamw" : "adam"; }

 protected:
  void update(size_t i, Tensor& w, const Tensor& g, int64_t step) override;
  std::vector<std::pair<std::string, Tensor*>> buffers() override;

 private:
  AdamOptions options_;
  std::vector<Tensor> m_, v_;
};

// "sgd", "adam" or "adamw" with the usual defaults; weight decay for adamw 0.01.
std::unique_ptr<Optimizer> make_optimizer(const std::string& kind, std::vector<ParamRef> params, double lr,
                                          double momentum = 0.9, double weight_decay = -1);

}  // namespace gc
