// Post-training static quantization (docs/QUANTIZATION.md): calibrates a float
// network on training images and turns it into an int8 model description.
//
//   activations  u8, asymmetric, one scale and zero point per tensor:
//                [lo, hi] = observed range widened to hold 0,
//                s = (hi − lo) / 255, z = round(−lo / s)
//   weights      s8, symmetric, one scale per output channel:
//                s_w[j] = max_p |W[j][p]| / Q, q = round(W / s_w[j]) ∈ [−Q, Q],
//                Q = 127 (8 bits) or 64 (7 bits: the AVX2 kernel's one-pass
//                condition, int8_gemm.h)
//   biases       i32 at the scale s_in · s_w[j]
//
// `minmax` takes the observed extremes; `percentile` the 0.01% and 99.99%
// quantiles, which ignores rare outliers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "layers/sequential.h"
#include "serialize/quantized_store.h"

namespace gc::infer {

struct QuantizeOptions {
  std::string calibration = "minmax";  // minmax | percentile
  int weight_bits = 8;                 // 8 or 7
  std::string dataset;                 // recorded as calibration.dataset
};

// `images`: count normalised inputs of `input_shape` (training images only,
// never test images). Throws std::invalid_argument for a bad option.
QuantizationInfo quantize_model(Sequential& model, const std::vector<int64_t>& input_shape, const float* images,
                                int64_t count, const QuantizeOptions& options);

// The u8 parameters for real values in [lo, hi] (widened to hold 0).
ActivationQuantization activation_quantization(double lo, double hi);

}  // namespace gc::infer
