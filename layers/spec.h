// Model specs: the architecture as a string of layer tokens, which a model
// file records so it can rebuild the network.
//
//   conv(in,out,k[,stride,padding[,dilation]])  linear(in,out)
//   maxpool(k[,stride[,padding]])  avgpool(k[,stride[,padding]])
//   relu  tanh  sigmoid  flatten  dropout(p)
//
// A kernel, stride, padding or dilation is one number for both axes or
// HxW for height and width: conv(1,8,3x5,2x1,1x2). Padding is the same on
// both sides of an axis; a pooling's is at most half its kernel, and the
// average counts it as zeros.
//
// Presets:
//   seed-cnn  conv(1,32,3) relu maxpool(2) conv(32,64,3) relu maxpool(2)
//             conv(64,64,3) relu flatten linear(576,64) relu linear(64,10)
//   lenet5    LeNet-5 with ReLU and max pooling
//   mlp       flatten linear(784,64) relu linear(64,10)
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "layers/sequential.h"

namespace gc {

// The spec of a preset name; any other text is returned unchanged (a spec).
std::string resolve_preset(const std::string& name_or_spec);
std::vector<std::string> preset_names();

// Builds the network (parameters zero; call reset_parameters). Throws
// std::invalid_argument naming the bad token: "spec: token 3 'conv(1,2)':
// conv needs 3 or 5 integers (in,out,k[,stride,padding]), got 2".
std::unique_ptr<Sequential> build_model(const std::string& name_or_spec);

// Runs a zero input of `input_shape` ([c,h,w]) through the network to check
// that the layers fit together; throws naming the first layer that does not.
// Returns the output shape for a batch of one.
Shape check_model_input(Sequential& model, const std::vector<int64_t>& input_shape);

}  // namespace gc
