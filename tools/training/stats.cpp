#include "tools/training/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <nlohmann/json.hpp>

namespace gc::training {

static constexpr int kHistogramBins = 30;

static double l2_norm(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x * x;
  return std::sqrt(s);
}

LayerStats::LayerStats(Sequential& model, int64_t every, int64_t first_step, std::ostream& out)
    : model_(model), every_(every), current_step_(first_step), out_(out) {
  if (every < 1) throw std::invalid_argument("--stats-every must be ≥ 1, got " + std::to_string(every));
  for (const auto& layer : model_.layers())
    layer->register_forward_hook([this](const Module& m, const Tensor& y) { record_activation(m, y); });
}

void LayerStats::record_activation(const Module& layer, const Tensor& y) {
  if (!layer.training() || !due(current_step_) || y.numel() == 0) return;
  std::vector<double> v = y.to_doubles();
  ActivationStat s{layer.name(), layer.kind(), y.shape(), 0, 0, std::numeric_limits<double>::infinity(),
                   -std::numeric_limits<double>::infinity(), 0, -1, {}};
  double sum = 0, zeros = 0;
  for (double x : v) {
    sum += x;
    zeros += x == 0;
    s.min = std::min(s.min, x);
    s.max = std::max(s.max, x);
  }
  const double n = static_cast<double>(v.size());
  s.mean = sum / n;
  double squares = 0;  // two passes: the one-pass formula cancels badly when |mean| ≫ std
  for (double x : v) squares += (x - s.mean) * (x - s.mean);
  s.std = std::sqrt(squares / n);
  s.zero_fraction = zeros / n;

  s.histogram.assign(kHistogramBins, 0);
  const double width = (s.max - s.min) / kHistogramBins;
  for (double x : v) {
    int bin = width > 0 ? static_cast<int>((x - s.min) / width) : 0;
    ++s.histogram[std::clamp(bin, 0, kHistogramBins - 1)];
  }

  if (layer.kind() == "relu") {
    // Unit u of image i sits at i·(units·inner) + u·inner + k: channels of
    // [N, C, H, W] (inner = H·W), features of [N, F] (inner = 1).
    const int64_t batch = y.dim(0), units = y.rank() >= 2 ? y.dim(1) : 1;
    const int64_t inner = y.numel() / (batch * units);
    int64_t dead = 0;
    for (int64_t u = 0; u < units; ++u) {
      bool all_zero = true;
      for (int64_t i = 0; i < batch && all_zero; ++i)
        for (int64_t k = 0; k < inner && all_zero; ++k) all_zero = v[static_cast<size_t>((i * units + u) * inner + k)] == 0;
      dead += all_zero;
    }
    s.dead_fraction = static_cast<double>(dead) / static_cast<double>(units);
  }
  activations_.push_back(std::move(s));
}

void LayerStats::before_update(int64_t step) {
  current_step_ = step;
  params_.clear();
  if (!due(step)) return;
  for (ParamRef p : model_.parameters()) {
    Tensor g = p.tensor->grad();
    params_.push_back({p.name, l2_norm(p.tensor->to_doubles()), g.defined() ? l2_norm(g.to_doubles()) : 0.0,
                       p.tensor->clone()});
  }
}

void LayerStats::after_update(int64_t step) {
  current_step_ = step + 1;
  if (!due(step)) return;
  nlohmann::json params = nlohmann::json::array(), layers = nlohmann::json::array();
  auto refs = model_.parameters();
  for (size_t i = 0; i < params_.size() && i < refs.size(); ++i) {
    const ParamStat& p = params_[i];
    std::vector<double> after = refs[i].tensor->to_doubles(), before = p.before.to_doubles();
    for (size_t k = 0; k < after.size(); ++k) after[k] -= before[k];
    double update = l2_norm(after);
    params.push_back({{"name", p.name}, {"weight_norm", p.weight_norm}, {"grad_norm", p.grad_norm},
                      {"update_norm", update}, {"update_ratio", p.weight_norm > 0 ? update / p.weight_norm : 0.0}});
  }
  for (const ActivationStat& s : activations_) {
    nlohmann::json j = {{"name", s.name}, {"kind", s.kind},  {"shape", s.shape.to_vector()},
                        {"mean", s.mean}, {"std", s.std},    {"min", s.min},
                        {"max", s.max},   {"zero_fraction", s.zero_fraction},
                        {"hist", {{"lo", s.min}, {"hi", s.max}, {"counts", s.histogram}}}};
    if (s.dead_fraction >= 0) j["dead_fraction"] = s.dead_fraction;
    layers.push_back(std::move(j));
  }
  out_ << nlohmann::json{{"type", "stats"}, {"step", step + 1}, {"params", params}, {"layers", layers}}.dump()
       << "\n";
  out_.flush();
  params_.clear();
  activations_.clear();
}

}  // namespace gc::training
