#include "layers/sequential.h"

#include <map>

#include "kernels/cpu/rng.h"
#include "layers/layers.h"

namespace gc {

void Sequential::add(std::unique_ptr<Module> module) {
  int count = 1;
  for (const auto& m : layers_) count += m->kind() == module->kind();
  module->set_name(module->kind() + std::to_string(count));
  layers_.push_back(std::move(module));
}

// ReLU at i, MaxPool2d at i + 1, neither observed: run them swapped (header).
bool Sequential::pool_runs_first(size_t i) const {
  if (i + 1 >= layers_.size()) return false;
  const Module &relu = *layers_[i], &pool = *layers_[i + 1];
  return relu.kind() == "relu" && pool.kind() == "maxpool" && !relu.has_forward_hooks() &&
         !pool.has_forward_hooks();
}

// Conv2d at i, then ReLU and MaxPool2d(2, stride 2) in either order, none
// observed, and the fused op fits x (header).
bool Sequential::fuses_conv_pool_relu(size_t i, const Tensor& x) const {
  if (i + 2 >= layers_.size()) return false;
  const auto* conv = dynamic_cast<const Conv2d*>(layers_[i].get());
  const Module &second = *layers_[i + 1], &third = *layers_[i + 2];
  const auto* pool = dynamic_cast<const MaxPool2d*>(second.kind() == "relu" ? &third : &second);
  const Module& relu = pool == &third ? second : third;
  if (conv == nullptr || pool == nullptr || relu.kind() != "relu" || pool->kernel() != 2 || pool->stride() != 2 ||
      pool->padding() != 0)
    return false;
  if (conv->has_forward_hooks() || second.has_forward_hooks() || third.has_forward_hooks()) return false;
  return conv2d_pool_relu_fits(x, conv->weight, conv->bias, conv->options());
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor h = x;
  for (size_t i = 0; i < layers_.size(); ++i) {
    if (fuses_conv_pool_relu(i, h)) {
      const auto& conv = static_cast<const Conv2d&>(*layers_[i]);
      h = conv2d_pool_relu(h, conv.weight, conv.bias, conv.options());
      i += 2;
      continue;
    }
    if (pool_runs_first(i)) {
      h = (*layers_[i])((*layers_[i + 1])(h));
      ++i;
      continue;
    }
    h = (*layers_[i])(h);
  }
  return h;
}

std::string Sequential::spec() const {
  std::string s;
  for (const auto& layer : layers_) s += (s.empty() ? "" : " ") + layer->spec();
  return s;
}

std::vector<ParamRef> Sequential::parameters() {
  std::vector<ParamRef> all;
  for (auto& layer : layers_)
    for (ParamRef p : layer->parameters()) all.push_back({layer->name() + "." + p.name, p.tensor});
  return all;
}

void Sequential::reset_parameters(uint64_t seed, const std::string& init) {
  for (size_t i = 0; i < layers_.size(); ++i) layers_[i]->reset_parameters(cpu::counter_bits(seed, i), init);
}

void Sequential::set_seed(uint64_t seed) {
  for (size_t i = 0; i < layers_.size(); ++i) layers_[i]->set_seed(cpu::counter_bits(seed ^ 0x5eed, i));
}

void Sequential::set_training_mode(bool training) {
  set_training(training);
  for (auto& layer : layers_) layer->set_training(training);
}

int64_t Sequential::parameter_count() {
  int64_t n = 0;
  for (ParamRef p : parameters()) n += p.tensor->numel();
  return n;
}

void Sequential::move_parameters(Device device) {
  for (ParamRef p : parameters()) {
    if (p.tensor->device() == device) continue;
    *p.tensor = p.tensor->to(device);
    p.tensor->requires_grad_();
  }
}

void Sequential::convert_parameters(DType dtype) {
  for (ParamRef p : parameters()) {
    if (p.tensor->dtype() == dtype) continue;
    *p.tensor = p.tensor->to(dtype);
    p.tensor->requires_grad_();
  }
}

}  // namespace gc
