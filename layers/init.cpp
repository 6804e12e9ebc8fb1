#include "layers/init.h"

#include <cmath>
#include <stdexcept>

#include "kernels/cpu/rng.h"

namespace gc {

void init_weight(Tensor& weight, int64_t fan_in, int64_t fan_out, const std::string& init, uint64_t seed) {
  cpu::Rng rng(seed);
  float* w = weight.data<float>();
  if (init == "he") {
    double std = std::sqrt(2.0 / static_cast<double>(fan_in));
    for (int64_t i = 0; i < weight.numel(); ++i) w[i] = static_cast<float>(rng.normal(0.0, std));
  } else if (init == "xavier") {
    double bound = std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
    for (int64_t i = 0; i < weight.numel(); ++i) w[i] = static_cast<float>(rng.uniform(-bound, bound));
  } else {
    throw std::invalid_argument("init: unknown scheme '" + init + "' (expected he or xavier)");
  }
}

}  // namespace gc
