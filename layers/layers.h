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
  // Each of kernel, stride, padding and dilation is one number for both axes
  // or {height, width}.
  Conv2d(int in_channels, int out_channels, Hw kernel, Hw stride = 1, Hw padding = 0, Hw dilation = 1);
  Tensor forward(const Tensor& x) override;
  std::string spec() const override;
  std::string kind() const override { return "conv"; }
  std::vector<ParamRef> parameters() override { return {{"weight", &weight}, {"bias", &bias}}; }
  void reset_parameters(uint64_t seed, const std::string& init) override;
  Conv2dOptions options() const { return {.stride = stride_, .padding = padding_, .dilation = dilation_}; }
  Hw kernel() const { return kernel_; }

  Tensor weight, bias;  // [out, in, kernel.h, kernel.w], [out]

 private:
  int in_, out_;
  Hw kernel_, stride_, padding_, dilation_;
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
  // stride 0 on an axis: the kernel's size on it.
  explicit MaxPool2d(Hw kernel, Hw stride = 0, Hw padding = 0)
      : kernel_(kernel), stride_(stride.h ? stride.h : kernel.h, stride.w ? stride.w : kernel.w), padding_(padding) {}
  Tensor forward(const Tensor& x) override {
    return max_pool2d(x, {.kernel = kernel_, .stride = stride_, .padding = padding_});
  }
  std::string spec() const override;
  std::string kind() const override { return "maxpool"; }
  Hw kernel() const { return kernel_; }
  Hw stride() const { return stride_; }
  Hw padding() const { return padding_; }

 private:
  Hw kernel_, stride_, padding_;
};

class AvgPool2d : public Module {
 public:
  // stride 0 on an axis: the kernel's size on it.
  explicit AvgPool2d(Hw kernel, Hw stride = 0, Hw padding = 0)
      : kernel_(kernel), stride_(stride.h ? stride.h : kernel.h, stride.w ? stride.w : kernel.w), padding_(padding) {}
  Tensor forward(const Tensor& x) override {
    return avg_pool2d(x, {.kernel = kernel_, .stride = stride_, .padding = padding_});
  }
  std::string spec() const override;
  std::string kind() const override { return "avgpool"; }
  Hw kernel() const { return kernel_; }
  Hw stride() const { return stride_; }
  Hw padding() const { return padding_; }

 private:
  Hw kernel_, stride_, padding_;
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
