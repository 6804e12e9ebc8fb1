// The layer modules. Each forward is one engine op (engine/ops.h); the
// gradients come from the tape.
#pragma once

#include <cstdint>
#include <string>

#include "engine/ops.h"
#include "layers/module.h"

namespace gc {

class Conv2d : public Module {
 public:
  Conv2d(int in_channels, int out_channels, int kernel, int stride = 1, int padding = 0, int dilation = 1);
  Tensor forward(const Tensor& x) override;
  std::string spec() const override;
  std::string kind() const override { return "conv"; }
  std::vector<ParamRef> parameters() override { return {{"weight", &weight}, {"bias", &bias}}; }
  void reset_parameters(uint64_t seed, const std::string& init) override;
  Conv2dOptions options() const { return {.stride = stride_, .padding = padding_, .dilation = dilation_}; }
  int kernel() const { return kernel_; }

  Tensor weight, bias;  // [out, in, k, k], [out]

 private:
  int in_, out_, kernel_, stride_, padding_, dilation_;
};

class Linear : public Module {
 public:
  Linear(int in_features, int out_features);
  Tensor forward(const Tensor& x) override;
  std::string spec() const override;
  std::string kind() const override { return "fc"; }
  std::vector<ParamRef> parameters() override { return {{"weight", &weight}, {"bias", &bias}}; }
  void reset_parameters(uint64_t seed, const std::string& init) override;

  Tensor weight, bias;  // [out, in], [out]

 private:
  int in_, out_;
};

class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(int kernel, int stride = 0) : kernel_(kernel), stride_(stride ? stride : kernel) {}
  Tensor forward(const Tensor& x) override { return max_pool2d(x, {.kernel = kernel_, .stride = stride_}); }
  std::string spec() const override;
  std::string kind() const override { return "maxpool"; }
  int kernel() const { return kernel_; }
  int stride() const { return stride_; }

 private:
  int kernel_, stride_;
};

class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(int kernel, int stride = 0) : kernel_(kernel), stride_(stride ? stride : kernel) {}
  Tensor forward(const Tensor& x) override { return avg_pool2d(x, {.kernel = kernel_, .stride = stride_}); }
  std::string spec() const override;
  std::string kind() const override { return "avgpool"; }
  int kernel() const { return kernel_; }
  int stride() const { return stride_; }

 private:
  int kernel_, stride_;
};

class ReLU : public Module {
 public:
  Tensor forward(const Tensor& x) override { return relu(x); }
  std::string spec() const override { return "relu"; }
  std::string kind() const override { return "relu"; }
};

class Tanh : public Module {
 public:
  Tensor forward(const Tensor& x) override { return tanh(x); }
  std::string spec() const override { return "tanh"; }
  std::string kind() const override { return "tanh"; }
};

class Sigmoid : public Module {
 public:
  Tensor forward(const Tensor& x) override { return sigmoid(x); }
  std::string spec() const override { return "sigmoid"; }
  std::string kind() const override { return "sigmoid"; }
};

class Flatten : public Module {
 public:
  Tensor forward(const Tensor& x) override { return x.flatten(); }
  std::string spec() const override { return "flatten"; }
  std::string kind() const override { return "flatten"; }
};

// Each training forward draws its mask from (seed, call count), so a run is
// reproducible and a checkpoint can restore the count.
class Dropout : public Module {
 public:
  explicit Dropout(double p) : p_(p) {}
  Tensor forward(const Tensor& x) override;
  std::string spec() const override;
  std::string kind() const override { return "dropout"; }
  void set_seed(uint64_t seed) override { seed_ = seed; }
  double p() const { return p_; }
  uint64_t calls = 0;

 private:
  double p_;
  uint64_t seed_ = 0;
};

}  // namespace gc
