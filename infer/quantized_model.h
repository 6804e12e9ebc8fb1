// The int8 inference runner (docs/QUANTIZATION.md): u8 activations flow from
// group to group (infer/int8_groups.h) without a float round trip, channels
// last (image y, x, channel), through the int8 kernels of kernels/cpu.
//
//   input    q = clamp(round(x / s₀) + z₀, 0, 255) of the normalised image
//   conv     u8 im2col (padding reads z_in: real 0) → u8×s8 GEMM → int32 →
//            requantize with the folded bias, ReLU, 2×2 max pool
//   linear   GEMM → requantize, or for the last layer dequantize to logits
//   flatten  channels-last → the float network's channel-major order
//   fp32     dequantize → the float layer → quantize
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "infer/int8_groups.h"
#include "kernels/cpu/int8_gemm.h"
#include "layers/sequential.h"
#include "serialize/quantized_store.h"

namespace gc::infer {

// An activation between groups: per image h × w × c bytes, channels last
// (h = w = 1 for a feature vector).
struct Int8Shape {
  int c = 0, h = 1, w = 1;
  bool spatial = false;  // an image [c, h, w] rather than a vector [c]
  int64_t size() const { return int64_t(c) * h * w; }
};

class QuantizedModel {
 public:
  // `model` holds the architecture and the parameters of its fp32 layers; it
  // must outlive this object.
  QuantizedModel(Sequential& model, const QuantizationInfo& quantization, const std::vector<int64_t>& input_shape);
  ~QuantizedModel();

  // Called after each group with its u8 output (n images of `shape`); the
  // network's last linear layer, which writes float logits, is not reported.
  using StepObserver = std::function<void(size_t group, const Int8Group& g, const uint8_t* out, const Int8Shape& shape,
                                          const ActivationQuantization& q)>;

  // images: n normalised inputs → n × outputs() logits, on the calling thread
  // (the GEMM may use the OpenMP team when called outside a parallel region).
  void forward(const float* images, int64_t n, float* logits, const StepObserver& observer = nullptr) const;
  int64_t outputs() const;

  // The quantized input of one float image, as forward stores it.
  void quantize_input(const float* image, uint8_t* out) const;

  struct Step;  // one group, ready to run (quantized_model.cpp)

 private:

  void run_step(const Step& step, const uint8_t* in, int64_t n, uint8_t* out, float* logits) const;

  std::vector<Step> steps_;
  Int8Shape input_;
  ActivationQuantization input_q_;
  ActivationQuantization output_q_;
};

}  // namespace gc::infer
