#include "engine/gradcheck.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "engine/autograd.h"

namespace gc {

template <typename T>
static double numeric_derivative(const std::function<Tensor()>& loss, T* element, double h) {
  const T saved = *element;
  *element = static_cast<T>(saved + h);
  double plus = loss().item();
  *element = static_cast<T>(saved - h);
  double minus = loss().item();
  *element = saved;
  return (plus - minus) / (2 * h);
}

std::vector<GradcheckResult> gradcheck(const std::function<Tensor()>& loss, const std::vector<Tensor>& inputs,
                                       const GradcheckOptions& options) {
  for (const Tensor& t : inputs) {
    if (!t.requires_grad() || !t.is_leaf())
      throw std::invalid_argument("gradcheck: every input must be a leaf tensor with requires_grad");
    t.impl().grad.reset();
  }
  loss().backward();

  NoGradGuard no_grad;
  std::vector<GradcheckResult> results;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& x = inputs[i];
    GradcheckResult r;
    r.name = x.name().empty() ? "input " + std::to_string(i) : x.name();
    r.shape = x.shape();
    Tensor grad = x.grad();
    std::vector<double> analytic = grad.defined() ? grad.to_doubles() : std::vector<double>(x.numel(), 0.0);
    int64_t n = x.numel();
    int64_t count = options.max_elements > 0 ? std::min(n, options.max_elements) : n;
    for (int64_t j = 0; j < count; ++j) {
      int64_t index = count == n ? j : j * n / count;
      double numeric = dispatch_dtype(x.dtype(), [&]<typename T>() {
        return numeric_derivative(loss, x.data<T>() + index, options.step);
      });
      double a = analytic[index];
      double abs_error = std::fabs(a - numeric);
      double scale = std::max(std::fabs(a), std::fabs(numeric));
      double rel_error = scale > 0 ? abs_error / scale : abs_error;
      // Written so that NaN fails: (NaN <= bound) is false.
      if (!(abs_error <= options.atol + options.rtol * scale)) r.passed = false;
      // Keep the worst element; a NaN error, once seen, stays the worst.
      bool worse = r.worst_index < 0 || std::isnan(abs_error) || abs_error > r.max_abs_error;
      if (worse && !std::isnan(r.max_abs_error)) {
        r.max_abs_error = abs_error;
        r.worst_index = index;
        r.worst_analytic = a;
        r.worst_numeric = numeric;
      }
      if (std::isnan(rel_error) || rel_error > r.max_rel_error) r.max_rel_error = rel_error;
      ++r.checked;
    }
    results.push_back(r);
  }
  return results;
}

}  // namespace gc
