#include "layers/optimizer.h"

#include <algorithm>
#include <stdexcept>

#include "engine/autograd.h"
#include "engine/cuda_backend.h"
#include "kernels/cpu/optimizer.h"

namespace gc {

void Optimizer::step() {
  NoGradGuard no_grad;
  ++step_;
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& w = *params_[i].tensor;
    Tensor g = w.grad();
    if (!g.defined()) continue;
    if (w.dtype() != DType::F32)
      throw std::invalid_argument("optimizer: parameter '" + params_[i].name + "' is " + dtype_name(w.dtype()) +
                                  "; updates are float32 only");
    update(i, w, g, step_);
  }
}

void Optimizer::zero_grad() {
  for (ParamRef& p : params_) p.tensor->zero_grad();
}

OptimizerState Optimizer::state() const {
  OptimizerState s{kind(), step_, {}};
  for (auto& [name, tensor] : const_cast<Optimizer*>(this)->buffers())
    if (tensor->defined()) s.buffers.push_back({name, tensor->clone()});
  return s;
}

void Optimizer::load_state(const OptimizerState& s) {
  if (s.kind != kind())
    throw std::invalid_argument("optimizer state: saved by '" + s.kind + "', loading into '" + kind() + "'");
  auto slots = buffers();
  for (auto& [name, slot] : slots) *slot = Tensor();
  for (const auto& [saved_name, saved] : s.buffers) {
    auto slot = std::find_if(slots.begin(), slots.end(), [&](auto& b) { return b.first == saved_name; });
    if (slot == slots.end()) throw std::invalid_argument("optimizer state: unknown buffer '" + saved_name + "'");
    // Buffer names are "<kind>.<parameter name>"; the shapes must agree.
    std::string param_name = saved_name.substr(saved_name.find('.') + 1);
    auto param = std::find_if(params_.begin(), params_.end(), [&](const ParamRef& p) { return p.name == param_name; });
    if (param == params_.end())
      throw std::invalid_argument("optimizer state: buffer '" + saved_name + "' names no parameter");
    if (param->tensor->shape() != saved.shape())
      throw std::invalid_argument("optimizer state: buffer '" + saved_name + "' has shape " + saved.shape().str() +
                                  ", parameter has " + param->tensor->shape().str());
    *slot->second = saved.to(param->tensor->device());
  }
  step_ = s.step;
}

// A zero buffer shaped like w, created on first use.
static Tensor& lazy_zeros(Tensor& buffer, const Tensor& w) {
  if (!buffer.defined()) buffer = Tensor::zeros(w.shape(), w.dtype(), w.device());
  return buffer;
}

Sgd::Sgd(std::vector<ParamRef> params, double lr, SgdOptions options)
    : Optimizer(std::move(params), lr), options_(options), velocity_(params_.size()) {}

void Sgd::update(size_t i, Tensor& w, const Tensor& g, int64_t step) {
  float* velocity = options_.momentum != 0 ? lazy_zeros(velocity_[i], w).data<float>() : nullptr;
  auto update = w.device() == Device::CPU ? cpu::sgd_update : cuda_kernels(w.device()).sgd_update;
  update(w.numel(), w.data<float>(), g.data<float>(), velocity, step, static_cast<float>(lr_),
         static_cast<float>(options_.momentum), static_cast<float>(options_.weight_decay), options_.nesterov);
}

std::vector<std::pair<std::string, Tensor*>> Sgd::buffers() {
  std::vector<std::pair<std::string, Tensor*>> b;
  for (size_t i = 0; i < params_.size(); ++i) b.push_back({"velocity." + params_[i].name, &velocity_[i]});
  return b;
}

Adam::Adam(std::vector<ParamRef> params, double lr, AdamOptions options)
    : Optimizer(std::move(params), lr), options_(options), m_(params_.size()), v_(params_.size()) {}

void Adam::update(size_t i, Tensor& w, const Tensor& g, int64_t step) {
  auto update = w.device() == Device::CPU ? cpu::adam_update : cuda_kernels(w.device()).adam_update;
  update(w.numel(), w.data<float>(), g.data<float>(), lazy_zeros(m_[i], w).data<float>(),
                   lazy_zeros(v_[i], w).data<float>(), step, static_cast<float>(lr_),
                   static_cast<float>(options_.beta1), static_cast<float>(options_.beta2),
                   static_cast<float>(options_.eps), static_cast<float>(options_.weight_decay),
                   options_.decoupled);
}

std::vector<std::pair<std::string, Tensor*>> Adam::buffers() {
  std::vector<std::pair<std::string, Tensor*>> b;
  for (size_t i = 0; i < params_.size(); ++i) {
    b.push_back({"m." + params_[i].name, &m_[i]});
    b.push_back({"v." + params_[i].name, &v_[i]});
  }
  return b;
}

std::unique_ptr<Optimizer> make_optimizer(const std::string& kind, std::vector<ParamRef> params, double lr,
                                          double momentum, double weight_decay) {
  if (kind == "sgd")
    return std::make_unique<Sgd>(std::move(params), lr,
                                 SgdOptions{.momentum = momentum, .weight_decay = std::max(weight_decay, 0.0)});
  if (kind == "nesterov")
    return std::make_unique<Sgd>(std::move(params), lr,
                                 SgdOptions{.momentum = momentum, .weight_decay = std::max(weight_decay, 0.0), .nesterov = true});
  if (kind == "adam")
    return std::make_unique<Adam>(std::move(params), lr, AdamOptions{.weight_decay = std::max(weight_decay, 0.0)});
  if (kind == "adamw")
    return std::make_unique<Adam>(std::move(params), lr,
                                  AdamOptions{.weight_decay = weight_decay < 0 ? 0.01 : weight_decay, .decoupled = true});
  throw std::invalid_argument("optimizer: unknown kind '" + kind + "' (expected sgd, nesterov, adam or adamw)");
}

}  // namespace gc
