// Checks analytic gradients against central finite differences
// (Caffe's GradientChecker and PyTorch's gradcheck, for our tape):
//   ∂L/∂x_i ≈ (L(x + h·e_i) − L(x − h·e_i)) / 2h,   error O(h²).
// Run in double precision (f64 tensors) with h ≈ 1e-6 the two agree to ~1e-8
// relative; in float32 use h ≈ 1e-2 and a tolerance near 1e-2.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace gc {

struct GradcheckOptions {
  double step = 1e-6;
  // Element i passes when |analytic − numeric| ≤ atol + rtol·max(|analytic|, |numeric|).
  double atol = 1e-7;
  double rtol = 1e-5;
  // Check at most this many elements per tensor (chosen evenly spread); ≤ 0: all.
  int64_t max_elements = 0;
};

struct GradcheckResult {
  std::string name;  // the tensor's name, or "input <i>"
  Shape shape;
  int64_t checked = 0;
  double max_abs_error = 0;
  double max_rel_error = 0;
  int64_t worst_index = -1;
  double worst_analytic = 0, worst_numeric = 0;
  bool passed = true;
};

// `loss` recomputes a one-element loss from the current contents of `inputs`
// (leaf tensors with requires_grad). Their .grad is replaced by the analytic
// gradient of one backward pass.
std::vector<GradcheckResult> gradcheck(const std::function<Tensor()>& loss, const std::vector<Tensor>& inputs,
                                       const GradcheckOptions& options = {});

}  // namespace gc
