// Seeded weight initialisation.
//   he     (Kaiming, He et al. 2015):     W ~ N(0, 2 / fan_in)        for ReLU nets
//   xavier (Glorot & Bengio 2010):        W ~ U(±sqrt(6 / (fan_in + fan_out)))
// Biases start at zero.
#pragma once

#include <cstdint>
#include <string>

#include "engine/tensor.h"

namespace gc {

// Fills `weight` (f32) given its fan-in and fan-out; `init` is "he" or "xavier".
void init_weight(Tensor& weight, int64_t fan_in, int64_t fan_out, const std::string& init, uint64_t seed);

}  // namespace gc
