// How an int8 network runs: its layers cut into groups, each one step of the
// runner (infer/quantized_model.h). The quantizer (infer/quantize.h) uses the
// same cut, so it calibrates exactly the activations the runner stores:
// those between groups.
//
//   conv [relu] [maxpool(2)]    one GEMM, requantization fused with the bias,
//                               ReLU and 2×2 pool (ReLU and pool in either order);
//                               square kernel, stride and padding, no dilation
//   linear [relu]               one GEMM, fused requantization; the network's
//                               last layer dequantizes to float logits instead
//   maxpool(k, s), relu,        on u8 directly: both commute with the
//   flatten, dropout            (monotone) quantization, so their output keeps
//                               their input's scale and zero point (square,
//                               unpadded pools)
//   anything else (tanh,        fp32: dequantize, run the float layer,
//   sigmoid, avgpool, other     quantize with the calibrated output scale
//   convs and pools)
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "layers/sequential.h"

namespace gc::infer {

struct Int8Group {
  enum class Kind { conv, linear, maxpool, relu, flatten, identity, fp32 };
  Kind kind;
  size_t begin, end;  // layers [begin, end) of the network
  bool relu = false;  // conv / linear: a ReLU is fused
  bool pool = false;  // conv: a 2×2 stride-2 max pool is fused
  // The group's output keeps its input's scale and zero point.
  bool passes_scale_through() const {
    return kind == Kind::maxpool || kind == Kind::relu || kind == Kind::flatten || kind == Kind::identity;
  }
};

std::vector<Int8Group> int8_groups(const Sequential& model);

// "int8" or "fp32" for each layer of the network.
std::vector<std::string> int8_layer_precision(const Sequential& model);

}  // namespace gc::infer
