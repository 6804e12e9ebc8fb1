#include "infer/int8_groups.h"

#include "layers/layers.h"

namespace gc::infer {

namespace {

bool is_pool2x2(const Module* m) {
  auto* pool = dynamic_cast<const MaxPool2d*>(m);
  return pool && pool->kernel() == 2 && pool->stride() == 2 && pool->padding() == 0;
}

bool square(Hw v) { return v.h == v.w; }

// What the int8 kernels take: square windows the same on both axes, no
// dilation, an unpadded pool.
bool int8_conv(const Conv2d* conv) {
  return conv && conv->options().dilation == 1 && square(conv->kernel()) && square(conv->options().stride) &&
         square(conv->options().padding);
}

bool int8_pool(const MaxPool2d* pool) {
  return pool && square(pool->kernel()) && square(pool->stride()) && pool->padding() == 0;
}

bool is_relu(const Module* m) { return dynamic_cast<const ReLU*>(m) != nullptr; }

}  // namespace

std::vector<Int8Group> int8_groups(const Sequential& model) {
  using Kind = Int8Group::Kind;
  const auto& layers = model.layers();
  auto at = [&](size_t i) -> const Module* { return i < layers.size() ? layers[i].get() : nullptr; };
  std::vector<Int8Group> groups;
  for (size_t i = 0; i < layers.size();) {
    const Module* m = at(i);
    Int8Group g{Kind::fp32, i, i + 1};
    if (int8_conv(dynamic_cast<const Conv2d*>(m))) {
      g.kind = Kind::conv;
      // conv relu maxpool(2) | conv maxpool(2) relu | conv relu | conv maxpool(2)
      for (size_t j = i + 1; j < i + 3; ++j) {
        if (!g.relu && is_relu(at(j))) {
          g.relu = true;
        } else if (!g.pool && is_pool2x2(at(j))) {
          g.pool = true;
        } else {
          break;
        }
        g.end = j + 1;
      }
    } else if (dynamic_cast<const Linear*>(m)) {
      g.kind = Kind::linear;
      if (is_relu(at(i + 1))) {
        g.relu = true;
        g.end = i + 2;
      }
    } else if (int8_pool(dynamic_cast<const MaxPool2d*>(m))) {
      g.kind = Kind::maxpool;
    } else if (is_relu(m)) {
      g.kind = Kind::relu;
    } else if (dynamic_cast<const Flatten*>(m)) {
      g.kind = Kind::flatten;
    } else if (dynamic_cast<const Dropout*>(m)) {
      g.kind = Kind::identity;
    }
    groups.push_back(g);
    i = g.end;
  }
  return groups;
}

std::vector<std::string> int8_layer_precision(const Sequential& model) {
  std::vector<std::string> precision(model.layers().size(), "int8");
  for (const Int8Group& g : int8_groups(model))
    if (g.kind == Int8Group::Kind::fp32)
      for (size_t i = g.begin; i < g.end; ++i) precision[i] = "fp32";
  return precision;
}

}  // namespace gc::infer
