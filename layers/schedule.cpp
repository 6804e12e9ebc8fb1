#include "layers/schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>

namespace gc {

static double cosine_between(double from, double to, double progress) {
  return to + (from - to) * (1 + std::cos(std::numbers::pi * std::clamp(progress, 0.0, 1.0))) / 2;
}

double Schedule::lr_at(int64_t step) const {
  double t = static_cast<double>(step), total = static_cast<double>(std::max<int64_t>(total_steps, 1));
  if (kind == "constant") return base_lr;
  if (kind == "step") return base_lr * std::pow(gamma, std::floor(t / static_cast<double>(step_size)));
  if (kind == "cosine") return cosine_between(base_lr, min_lr, t / total);
  // onecycle
  double warm = std::max(1.0, warmup * total);
  if (t < warm) return base_lr / 25 + (base_lr - base_lr / 25) * t / warm;
  return cosine_between(base_lr, base_lr / 1e4, (t - warm) / std::max(1.0, total - warm));
}

Schedule make_schedule(const std::string& kind, double base_lr, int64_t total_steps) {
  if (kind != "constant" && kind != "step" && kind != "cosine" && kind != "onecycle")
    throw std::invalid_argument("schedule: unknown kind '" + kind + "' (expected constant, step, cosine or onecycle)");
  Schedule s;
  s.kind = kind;
  s.base_lr = base_lr;
  s.total_steps = total_steps;
  s.step_size = std::max<int64_t>(1, total_steps / 3);
  return s;
}

}  // namespace gc
