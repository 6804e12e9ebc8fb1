#include "layers/layers.h"

#include <sstream>

#include "kernels/cpu/rng.h"
#include "layers/init.h"

namespace gc {

static std::string format_double(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

Conv2d::Conv2d(int in_channels, int out_channels, Hw kernel, Hw stride, Hw padding, Hw dilation)
    : weight(Tensor::zeros({out_channels, in_channels, kernel.h, kernel.w})),
      bias(Tensor::zeros({out_channels})),
      in_(in_channels), out_(out_channels), kernel_(kernel), stride_(stride), padding_(padding),
      dilation_(dilation) {
  weight.requires_grad_();
  bias.requires_grad_();
}

Tensor Conv2d::forward(const Tensor& x) {
  return conv2d(x, weight, bias, options());
}

std::string Conv2d::spec() const {
  std::string s = "conv(" + std::to_string(in_) + "," + std::to_string(out_) + "," + kernel_.str();
  if (stride_ != 1 || padding_ != 0 || dilation_ != 1) s += "," + stride_.str() + "," + padding_.str();
  if (dilation_ != 1) s += "," + dilation_.str();
  return s + ")";
}

void Conv2d::reset_parameters(uint64_t seed, const std::string& init) {
  int64_t receptive = static_cast<int64_t>(kernel_.h) * kernel_.w;
  init_weight(weight, in_ * receptive, out_ * receptive, init, seed);
  bias.fill_(0.0);
}

Linear::Linear(int in_features, int out_features)
    : weight(Tensor::zeros({out_features, in_features})), bias(Tensor::zeros({out_features})),
      in_(in_features), out_(out_features) {
  weight.requires_grad_();
  bias.requires_grad_();
}

Tensor Linear::forward(const Tensor& x) { return linear(x, weight, bias); }

std::string Linear::spec() const { return "linear(" + std::to_string(in_) + "," + std::to_string(out_) + ")"; }

void Linear::reset_parameters(uint64_t seed, const std::string& init) {
  init_weight(weight, in_, out_, init, seed);
  bias.fill_(0.0);
}

// "kind(k[,stride[,padding]])", the arguments that differ from the defaults.
static std::string pool_spec(const char* kind, Hw kernel, Hw stride, Hw padding) {
  std::string s = std::string(kind) + "(" + kernel.str();
  if (stride != kernel || padding != 0) s += "," + stride.str();
  if (padding != 0) s += "," + padding.str();
  return s + ")";
}

std::string MaxPool2d::spec() const { return pool_spec("maxpool", kernel_, stride_, padding_); }

std::string AvgPool2d::spec() const { return pool_spec("avgpool", kernel_, stride_, padding_); }

Tensor Dropout::forward(const Tensor& x) {
  if (!training_) return x;
  return dropout(x, p_, cpu::counter_bits(seed_, calls++), true);
}

std::string Dropout::spec() const { return "dropout(" + format_double(p_) + ")"; }

}  // namespace gc
