#include "infer/quantized_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "engine/autograd.h"
#include "kernels/cpu/int8_requant.h"
#include "layers/layers.h"

namespace gc::infer {

using Kind = Int8Group::Kind;

struct QuantizedModel::Step {
  Int8Group group;
  Int8Shape in, out;
  ActivationQuantization in_q, out_q;
  // conv and linear: the packed weights (columns in im2col order: ky, kx, c),
  // the bias with the input zero point folded in, and the requantization
  // scales s_in·s_w[j]/s_out (or s_in·s_w[j] for logits).
  cpu::PackedS8Weights weights;
  std::vector<int32_t> bias;
  std::vector<float> scale;
  bool logits = false;
  int kernel = 1, stride = 1, padding = 0;
  int conv_h = 0, conv_w = 0;  // conv output before pooling
  // fp32: the float layers of the group.
  std::vector<Module*> modules;
};

namespace {

uint8_t quantize_value(float x, float scale, int32_t zero_point) {
  const float v = std::min(std::max(x / scale, -512.0f), 512.0f);
  return static_cast<uint8_t>(std::clamp(static_cast<int32_t>(std::nearbyint(v)) + zero_point, 0, 255));
}

float dequantize_value(uint8_t q, const ActivationQuantization& a) {
  return static_cast<float>(a.scale * (int32_t{q} - a.zero_point));
}

// Scratch buffers of one thread, grown on demand and reused by every call.
struct Scratch {
  std::vector<uint8_t> ping, pong, col;
  std::vector<int32_t> acc;
};
Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

template <typename T>
T* grow(std::vector<T>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

// The int8 form of a conv or linear layer between activations in_q and out_q.
void prepare_gemm(QuantizedModel::Step& s, const QuantizedLayer& l, int64_t kernel, int64_t in_channels) {
  const int64_t out = l.weight_shape[0], k = int64_t(l.weight.size()) / out;
  std::vector<int8_t> rows(l.weight.size());
  const int64_t taps = kernel * kernel;
  // [out][c][ky][kx] → [out][(ky·k + kx)·c + c], the order im2col_u8 writes.
  for (int64_t j = 0; j < out; ++j)
    for (int64_t c = 0; c < in_channels; ++c)
      for (int64_t t = 0; t < taps; ++t) rows[j * k + t * in_channels + c] = l.weight[j * k + c * taps + t];
  s.weights = cpu::pack_s8_weights(int(out), int(k), rows.data());
  for (int64_t j = 0; j < out; ++j) {
    const double multiplier = s.in_q.scale * l.weight_scales[j];
    s.bias.push_back(l.bias[j] - int32_t(s.in_q.zero_point) * s.weights.row_sums[j]);
    s.scale.push_back(static_cast<float>(s.logits ? multiplier : multiplier / s.out_q.scale));
    // Scales the file allows (finite, > 0) can still leave float's range here.
    if (!(std::isfinite(s.scale.back()) && s.scale.back() > 0))
      throw std::invalid_argument("int8 model: layer '" + l.name + "' channel " + std::to_string(j) +
                                  ": requantization scale " + std::to_string(s.scale.back()) +
                                  " is outside float's range (from the file's scales)");
  }
}

const QuantizedLayer& layer_of(const QuantizationInfo& q, const Module& m) {
  const QuantizedLayer* l = q.find_layer(m.name());
  if (!l) throw std::invalid_argument("int8 model: layer '" + m.name() + "' has no quantized weights");
  return *l;
}

}  // namespace

QuantizedModel::QuantizedModel(Sequential& model, const QuantizationInfo& q, const std::vector<int64_t>& input_shape) {
  const auto& layers = model.layers();
  if (q.activations.size() != layers.size() + 1)
    throw std::invalid_argument("int8 model: activation parameters do not match the architecture");
  input_ = input_shape.size() == 3 ? Int8Shape{int(input_shape[0]), int(input_shape[1]), int(input_shape[2]), true}
                                   : Int8Shape{int(input_shape.at(0)), 1, 1, false};
  input_q_ = q.activations.front();
  output_q_ = q.activations.back();
  for (size_t i = 0; i < q.activations.size(); ++i)
    if (const float f = static_cast<float>(q.activations[i].scale); !(std::isfinite(f) && f > 0))
      throw std::invalid_argument("int8 model: activation.scales[" + std::to_string(i) + "] is " +
                                  std::to_string(q.activations[i].scale) + ", outside float's range");
  Int8Shape shape = input_;
  for (const Int8Group& g : int8_groups(model)) {
    Step s;
    s.group = g;
    s.in = shape;
    s.in_q = q.activations[g.begin];
    s.out_q = q.activations[g.end];
    Module& first = *layers[g.begin];
    switch (g.kind) {
      case Kind::conv: {
        auto& conv = dynamic_cast<Conv2d&>(first);
        s.kernel = conv.kernel().h;  // square: infer/int8_groups.cpp
        s.stride = conv.options().stride.h;
        s.padding = conv.options().padding.h;
        s.conv_h = (shape.h + 2 * s.padding - s.kernel) / s.stride + 1;
        s.conv_w = (shape.w + 2 * s.padding - s.kernel) / s.stride + 1;
        const QuantizedLayer& l = layer_of(q, conv);
        prepare_gemm(s, l, s.kernel, shape.c);
        s.out = {int(l.weight_shape[0]), g.pool ? s.conv_h / 2 : s.conv_h, g.pool ? s.conv_w / 2 : s.conv_w, true};
        break;
      }
      case Kind::linear: {
        const QuantizedLayer& l = layer_of(q, first);
        // The network's last layer writes float logits (a fused ReLU there
        // goes through u8 like any other output).
        s.logits = g.end == layers.size() && !g.relu;
        prepare_gemm(s, l, 1, shape.size());
        s.out = {int(l.weight_shape[0]), 1, 1, false};
        break;
      }
      case Kind::maxpool: {
        auto& pool = dynamic_cast<MaxPool2d&>(first);
        s.kernel = pool.kernel().h;
        s.stride = pool.stride().h;
        s.out = {shape.c, (shape.h - s.kernel) / s.stride + 1, (shape.w - s.kernel) / s.stride + 1, true};
        break;
      }
      case Kind::flatten: s.out = {int(shape.size()), 1, 1, false}; break;
      case Kind::relu:
      case Kind::identity: s.out = shape; break;
      case Kind::fp32: {
        for (size_t i = g.begin; i < g.end; ++i) s.modules.push_back(layers[i].get());
        NoGradGuard no_grad;
        Tensor probe = Tensor::empty(shape.spatial ? Shape{1, shape.c, shape.h, shape.w} : Shape{1, shape.c});
        std::memset(probe.data<float>(), 0, probe.bytes());
        for (Module* m : s.modules) probe = (*m)(probe);
        const auto dims = probe.shape().to_vector();
        s.out = dims.size() == 4 ? Int8Shape{int(dims[1]), int(dims[2]), int(dims[3]), true}
                                 : Int8Shape{int(dims.at(1)), 1, 1, false};
        break;
      }
    }
    shape = s.out;
    steps_.push_back(std::move(s));
  }
}

QuantizedModel::~QuantizedModel() = default;

int64_t QuantizedModel::outputs() const { return steps_.empty() ? input_.size() : steps_.back().out.size(); }

void QuantizedModel::quantize_input(const float* image, uint8_t* out) const {
  const float scale = static_cast<float>(input_q_.scale);
  const int32_t z = int32_t(input_q_.zero_point);
  const int64_t plane = int64_t(input_.h) * input_.w;
  // [c][y][x] → [y][x][c]
  for (int c = 0; c < input_.c; ++c)
    for (int64_t p = 0; p < plane; ++p) out[p * input_.c + c] = quantize_value(image[c * plane + p], scale, z);
}

void QuantizedModel::forward(const float* images, int64_t n, float* logits, const StepObserver& observer) const {
  Scratch& buffers = scratch();
  uint8_t* in = grow(buffers.ping, size_t(n * input_.size()));
  for (int64_t i = 0; i < n; ++i) quantize_input(images + i * input_.size(), in + i * input_.size());
  bool in_ping = true;
  for (size_t k = 0; k < steps_.size(); ++k) {
    const Step& s = steps_[k];
    std::vector<uint8_t>& next = in_ping ? buffers.pong : buffers.ping;
    uint8_t* out = grow(next, size_t(n * s.out.size()));
    in = in_ping ? buffers.ping.data() : buffers.pong.data();
    run_step(s, in, n, out, logits);
    if (s.logits) return;
    if (observer) observer(k, s.group, out, s.out, s.out_q);
    in_ping = !in_ping;
  }
  // The network ends in a u8 activation: dequantize it (channel-major order).
  const uint8_t* last = in_ping ? buffers.ping.data() : buffers.pong.data();
  const Int8Shape& shape = steps_.empty() ? input_ : steps_.back().out;
  const int64_t plane = int64_t(shape.h) * shape.w;
  for (int64_t i = 0; i < n; ++i)
    for (int c = 0; c < shape.c; ++c)
      for (int64_t p = 0; p < plane; ++p)
        logits[i * shape.size() + c * plane + p] = dequantize_value(last[i * shape.size() + p * shape.c + c], output_q_);
}

namespace {

// The u8 steps: each output byte is an input byte (max pool, ReLU) or the
// same bytes reordered (flatten).
void run_u8_step(const QuantizedModel::Step& s, const uint8_t* in, int64_t n, uint8_t* out) {
  const int c = s.in.c;
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* x = in + i * s.in.size();
    uint8_t* y = out + i * s.out.size();
    switch (s.group.kind) {
      case Kind::maxpool:
        for (int oy = 0; oy < s.out.h; ++oy)
          for (int ox = 0; ox < s.out.w; ++ox) {
            uint8_t* dst = y + (int64_t(oy) * s.out.w + ox) * c;
            std::memset(dst, 0, size_t(c));
            for (int ky = 0; ky < s.kernel; ++ky)
              for (int kx = 0; kx < s.kernel; ++kx) {
                const uint8_t* src = x + ((int64_t(oy) * s.stride + ky) * s.in.w + ox * s.stride + kx) * c;
                for (int ch = 0; ch < c; ++ch) dst[ch] = std::max(dst[ch], src[ch]);
              }
          }
        break;
      case Kind::relu:
        for (int64_t e = 0; e < s.in.size(); ++e) y[e] = std::max<uint8_t>(x[e], uint8_t(s.in_q.zero_point));
        break;
      case Kind::flatten: {
        const int64_t plane = int64_t(s.in.h) * s.in.w;
        for (int ch = 0; ch < c; ++ch)
          for (int64_t p = 0; p < plane; ++p) y[ch * plane + p] = x[p * c + ch];
        break;
      }
      default: std::memcpy(y, x, size_t(s.in.size()));
    }
  }
}

// A float layer between u8 activations: dequantize (channel-major, as the
// float layer expects), run it, quantize back channels last.
void run_fp32_step(const QuantizedModel::Step& s, const uint8_t* in, int64_t n, uint8_t* out) {
  NoGradGuard no_grad;
  Tensor x = Tensor::empty(s.in.spatial ? Shape{n, s.in.c, s.in.h, s.in.w} : Shape{n, s.in.c});
  float* xf = x.data<float>();
  const int64_t in_plane = int64_t(s.in.h) * s.in.w, out_plane = int64_t(s.out.h) * s.out.w;
  for (int64_t i = 0; i < n; ++i)
    for (int c = 0; c < s.in.c; ++c)
      for (int64_t p = 0; p < in_plane; ++p)
        xf[i * s.in.size() + c * in_plane + p] = dequantize_value(in[i * s.in.size() + p * s.in.c + c], s.in_q);
  for (Module* m : s.modules) x = (*m)(x);
  const float* yf = x.data<float>();
  const float scale = static_cast<float>(s.out_q.scale);
  for (int64_t i = 0; i < n; ++i)
    for (int c = 0; c < s.out.c; ++c)
      for (int64_t p = 0; p < out_plane; ++p)
        out[i * s.out.size() + p * s.out.c + c] =
            quantize_value(yf[i * s.out.size() + c * out_plane + p], scale, int32_t(s.out_q.zero_point));
}

}  // namespace

void QuantizedModel::run_step(const Step& s, const uint8_t* in, int64_t n, uint8_t* out, float* logits) const {
  const cpu::Int8Path path = cpu::active_int8_path();
  Scratch& buffers = scratch();
  const cpu::Requantization rq{s.bias.data(), s.scale.data(), int32_t(s.out_q.zero_point), s.group.relu};
  switch (s.group.kind) {
    case Kind::conv: {
      // Images in chunks of about 256 GEMM rows: the seed CNN's 26×26 first
      // layer one image at a time, its 3×3 last layer 28 together.
      const int64_t rows_per_image = int64_t(s.conv_h) * s.conv_w, oc = s.weights.n;
      const int64_t chunk = std::max<int64_t>(1, 256 / rows_per_image);
      const std::ptrdiff_t ld = s.weights.padded_k();
      uint8_t* col = grow(buffers.col, size_t(chunk * rows_per_image * ld));
      int32_t* acc = grow(buffers.acc, size_t(chunk * rows_per_image * oc));
      for (int64_t begin = 0; begin < n; begin += chunk) {
        const int64_t count = std::min(chunk, n - begin);
        for (int64_t i = 0; i < count; ++i)
          cpu::im2col_u8(in + (begin + i) * s.in.size(), s.in.h, s.in.w, s.in.c, s.kernel, s.stride, s.padding,
                         uint8_t(s.in_q.zero_point), col + i * rows_per_image * ld, ld);
        cpu::gemm_u8s8s32(path, int(count * rows_per_image), col, ld, s.weights, acc, oc);
        for (int64_t i = 0; i < count; ++i) {
          const int32_t* image_acc = acc + i * rows_per_image * oc;
          uint8_t* image_out = out + (begin + i) * s.out.size();
          if (s.group.pool)
            cpu::requantize_maxpool2x2(path, image_acc, s.conv_h, s.conv_w, int(oc), rq, image_out);
          else
            cpu::requantize(path, image_acc, int(rows_per_image), int(oc), oc, rq, image_out, oc);
        }
      }
      return;
    }
    case Kind::linear: {
      const int64_t k = s.in.size(), oc = s.weights.n;
      const std::ptrdiff_t ld = s.weights.padded_k();
      const uint8_t* a = in;
      if (ld != k) {  // rows must be readable to a multiple of 4 bytes
        uint8_t* padded = grow(buffers.col, size_t(n * ld));
        for (int64_t i = 0; i < n; ++i) std::memcpy(padded + i * ld, in + i * k, size_t(k));
        a = padded;
      }
      int32_t* acc = grow(buffers.acc, size_t(n * oc));
      cpu::gemm_u8s8s32(path, int(n), a, ld, s.weights, acc, oc);
      if (s.logits)
        cpu::dequantize(acc, int(n), int(oc), oc, s.bias.data(), s.scale.data(), logits, oc);
      else
        cpu::requantize(path, acc, int(n), int(oc), oc, rq, out, oc);
      return;
    }
    case Kind::fp32: return run_fp32_step(s, in, n, out);
    default: return run_u8_step(s, in, n, out);
  }
}

}  // namespace gc::infer
