// Plan: the steps (plan.h), how a Sequential becomes them, and the run loop.
#include "infer/plan.h"

#include <omp.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "kernels/cpu/activation.h"
#include "kernels/cpu/conv2d.h"
#include "kernels/cpu/conv2d_packed.h"
#include "kernels/cpu/conv2d_pool.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/linear_rows.h"
#include "kernels/cpu/pool2d.h"
#include "layers/layers.h"

namespace gc::infer {

// One image's activation: (c, h, w), or (features) with h = w = 1 and
// flat set once a flatten (or a linear layer) has run.
struct Activation {
  int c = 0, h = 1, w = 1;
  bool flat = false;
  int64_t size() const { return int64_t(c) * h * w; }
};

struct Plan::Step {
  virtual ~Step() = default;
  // n images: in holds n × the step's input, out receives n × output.
  virtual void run(int64_t n, const float* in, float* out) const = 0;
  Activation output;
  double macs_per_image = 0;
  std::string what;  // for describe()
};

namespace {

std::vector<float> copy_of(const Tensor& t) {
  if (!t.defined()) return {};
  const float* p = t.data<float>();
  return std::vector<float>(p, p + t.numel());
}

// A convolution, with a ReLU after it, or a ReLU and a 2×2 max-pool. Where
// the engine would run im2col + GEMM, the packed kernel computes the same
// sums (plan.h); Winograd and the first-layer kernel run as in the engine.
struct ConvStep : Plan::Step {
  using Tail = cpu::ConvTail;
  cpu::Conv2dShape shape{};  // n = 1; set per call
  std::vector<float> weight, bias;
  Tail tail = Tail::none;
  cpu::PackedConv2d packed;  // empty when the layer has too few output channels for it

  bool takes_packed(const cpu::Conv2dShape& s) const {
    return !packed.w.empty() && !cpu::conv2d_uses_winograd(s, cpu::ConvPass::forward) &&
           !(tail == Tail::pool_relu && cpu::conv2d_pool_relu_direct(s));
  }

  void run(int64_t n, const float* in, float* out) const override {
    cpu::Conv2dShape s = shape;
    s.n = static_cast<int>(n);
    if (takes_packed(s)) return cpu::packed_conv2d_forward(packed, s.n, in, out);
    const float* b = bias.empty() ? nullptr : bias.data();
    if (tail == Tail::pool_relu) return cpu::conv2d_pool_relu_forward(s, in, weight.data(), b, out);
    cpu::conv2d_inference_forward(s, in, weight.data(), b, out);
    if (tail == Tail::relu) cpu::relu_forward<float>(n * output.size(), out, out);
  }
};

struct PoolStep : Plan::Step {
  cpu::Pool2dShape shape{};  // n = 1; set per call
  bool max = true, relu = false;

  void run(int64_t n, const float* in, float* out) const override {
    cpu::Pool2dShape s = shape;
    s.n = static_cast<int>(n);
    if (max)
      cpu::max_pool2d_forward<float>(s, in, out, nullptr);
    else
      cpu::avg_pool2d_forward<float>(s, in, out);
    if (relu) cpu::relu_forward<float>(n * output.size(), out, out);
  }
};

// y = x · Wᵀ + b, then the ReLU if any: few rows by the packed kernel; more
// as the engine's linear op computes it (y = b, then sgemm with β = 1).
struct LinearStep : Plan::Step {
  cpu::PackedLinear packed;
  std::vector<float> weight;  // out × in, as the layer holds it
  bool relu = false;

  void run(int64_t n, const float* in, float* out) const override {
    if (n <= kPackedLinearMaxRows) return cpu::packed_linear_forward(packed, n, in, out, relu);
    const int rows = static_cast<int>(n), k = packed.in, m = packed.out;
    for (int r = 0; r < rows; ++r) std::copy_n(packed.bias.data(), m, out + int64_t(r) * m);
    cpu::sgemm(false, true, rows, m, k, 1.0f, in, k, weight.data(), k, 1.0f, out, m);
    if (relu) cpu::relu_forward<float>(n * m, out, out);
  }
};

struct ActivationStep : Plan::Step {
  void (*apply)(int64_t, const float*, float*) = nullptr;
  void run(int64_t n, const float* in, float* out) const override { apply(n * output.size(), in, out); }
};

[[noreturn]] void refuse(size_t index, const Module& layer, const std::string& why) {
  throw std::invalid_argument("inference plan: layer " + std::to_string(index + 1) + " (" + layer.name() + ", " +
                              layer.spec() + "): " + why);
}

void check_parameters(size_t index, Module& layer) {
  for (const ParamRef& p : layer.parameters()) {
    const Tensor& t = *p.tensor;
    if (t.defined() && (t.dtype() != DType::F32 || t.device() != Device::CPU))
      refuse(index, layer, "parameter " + p.name + " is not float32 on the CPU");
  }
}

// Builds the steps from the layer list, fusing where plan.h says.
class Compiler {
 public:
  Compiler(const Sequential& model, Activation input) : layers_(model.layers()), shape_(input) {}

  std::vector<std::unique_ptr<Plan::Step>> compile() {
    while (at_ < layers_.size()) {
      Module& layer = *layers_[at_];
      check_parameters(at_, layer);
      const std::string kind = layer.kind();
      if (auto* conv = dynamic_cast<Conv2d*>(&layer)) add_conv(*conv);
      else if (auto* fc = dynamic_cast<Linear*>(&layer)) add_linear(*fc);
      else if (kind == "maxpool" || kind == "avgpool") add_pool(layer);
      else if (kind == "relu" && next_is("maxpool")) add_pool(*layers_[++at_], /*relu=*/true);  // as the engine swaps them
      else if (kind == "relu") add_activation(cpu::relu_forward<float>);
      else if (kind == "tanh") add_activation(cpu::tanh_forward<float>);
      else if (kind == "sigmoid") add_activation(cpu::sigmoid_forward<float>);
      else if (kind == "flatten") shape_ = Activation{int(shape_.size()), 1, 1, true};
      else if (kind != "dropout") refuse(at_, layer, "no inference step for layer kind '" + kind + "'");
      ++at_;  // the last layer consumed (fused layers advanced at_ already)
    }
    return std::move(steps_);
  }

 private:
  bool next_is(const char* kind, size_t ahead = 1) const {
    return at_ + ahead < layers_.size() && layers_[at_ + ahead]->kind() == kind;
  }
  const std::string spans(size_t first) const {
    std::string s;
    for (size_t i = first; i <= at_; ++i) s += (s.empty() ? "" : " + ") + layers_[i]->spec();
    return s;
  }

  void add_conv(Conv2d& conv) {
    const size_t first = at_;
    if (shape_.flat) refuse(at_, conv, "a convolution needs a (c, h, w) input, got flat " + std::to_string(shape_.c));
    auto step = std::make_unique<ConvStep>();
    cpu::Conv2dShape& s = step->shape;
    const Conv2dOptions o = conv.options();
    s = {1, shape_.c, shape_.h, shape_.w, int(conv.weight.dim(0)), int(conv.weight.dim(2)), int(conv.weight.dim(3))};
    s.stride_h = o.stride.h; s.stride_w = o.stride.w;
    s.pad_h = o.padding.h; s.pad_w = o.padding.w;
    s.dil_h = o.dilation.h; s.dil_w = o.dilation.w;
    if (conv.weight.dim(1) != shape_.c)
      refuse(at_, conv, "expects " + std::to_string(conv.weight.dim(1)) + " input channels, got " +
                            std::to_string(shape_.c));
    cpu::validate_conv2d_shape(s, "inference plan");
    step->weight = copy_of(conv.weight);
    step->bias = copy_of(conv.bias);
    step->macs_per_image = double(s.c_out) * s.out_h() * s.out_w() * s.c_in * s.kh * s.kw;
    step->output = Activation{s.c_out, s.out_h(), s.out_w()};
    const bool pool_next = next_is("maxpool") && next_is("relu", 2), relu_next = next_is("relu");
    const bool relu_then_pool = relu_next && next_is("maxpool", 2);
    if ((pool_next || relu_then_pool) && is_2x2_pool(pool_next ? 1 : 2) && cpu::conv2d_pool_relu_supports(s)) {
      step->tail = ConvStep::Tail::pool_relu;
      step->output = Activation{s.c_out, s.out_h() / 2, s.out_w() / 2};
      at_ += 2;
    } else if (relu_next) {
      step->tail = ConvStep::Tail::relu;
      at_ += 1;
    }
    if (s.c_out >= kPackedConvMinChannels)
      step->packed = cpu::pack_conv2d(s, step->weight.data(), step->bias.empty() ? nullptr : step->bias.data(),
                                      step->tail);
    push(std::move(step), first, "conv");
  }

  bool is_2x2_pool(size_t ahead) const {
    const auto* pool = dynamic_cast<const MaxPool2d*>(layers_[at_ + ahead].get());
    return pool && pool->kernel() == 2 && pool->stride() == 2 && pool->padding() == 0;
  }

  void add_linear(Linear& fc) {
    const size_t first = at_;
    const int in = int(fc.weight.dim(1)), out = int(fc.weight.dim(0));
    if (!shape_.flat || shape_.c != in)
      refuse(at_, fc, "expects " + std::to_string(in) + " input features, got " +
                          (shape_.flat ? std::to_string(shape_.c) : "an unflattened image"));
    auto step = std::make_unique<LinearStep>();
    step->weight = copy_of(fc.weight);
    const std::vector<float> bias = copy_of(fc.bias);
    step->packed = cpu::pack_linear(in, out, step->weight.data(), bias.empty() ? nullptr : bias.data());
    step->macs_per_image = double(in) * out;
    step->output = Activation{out, 1, 1, true};
    if (next_is("relu")) {
      step->relu = true;
      ++at_;
    }
    push(std::move(step), first, "linear");
  }

  void add_pool(Module& layer, bool relu_before = false) {
    const size_t first = relu_before ? at_ - 1 : at_;
    if (shape_.flat) refuse(at_, layer, "pooling needs a (c, h, w) input");
    auto step = std::make_unique<PoolStep>();
    step->max = layer.kind() == "maxpool";
    auto window = [&](auto& pool) {
      step->shape = cpu::Pool2dShape{1, shape_.c, shape_.h, shape_.w, pool.kernel().h, pool.kernel().w,
                                     pool.stride().h, pool.stride().w, pool.padding().h, pool.padding().w};
    };
    if (step->max) window(static_cast<MaxPool2d&>(layer));
    else window(static_cast<AvgPool2d&>(layer));
    cpu::validate_pool2d_shape(step->shape, "inference plan");
    step->output = Activation{shape_.c, step->shape.out_h(), step->shape.out_w()};
    step->relu = relu_before;
    if (!relu_before && step->max && next_is("relu")) {  // relu after a max-pool: the same in place
      step->relu = true;
      ++at_;
    }
    const char* kernel = step->max ? "maxpool" : "avgpool";
    push(std::move(step), first, kernel);
  }

  void add_activation(void (*apply)(int64_t, const float*, float*)) {
    auto step = std::make_unique<ActivationStep>();
    step->apply = apply;
    step->output = shape_;
    push(std::move(step), at_, layers_[at_]->kind());
  }

  void push(std::unique_ptr<Plan::Step> step, size_t first, const std::string& kernel) {
    step->what = kernel + ": " + spans(first);
    shape_ = step->output;
    steps_.push_back(std::move(step));
  }

  const std::vector<std::unique_ptr<Module>>& layers_;
  Activation shape_;
  size_t at_ = 0;
  std::vector<std::unique_ptr<Plan::Step>> steps_;
};

// Restores the calling thread's OpenMP thread count when a run ends.
class ThreadCountGuard {
 public:
  ThreadCountGuard() : saved_(omp_get_max_threads()) {}
  ~ThreadCountGuard() { omp_set_num_threads(saved_); }
  int saved() const { return saved_; }

 private:
  int saved_;
};

}  // namespace

Plan::Plan(const Sequential& model, const std::vector<int64_t>& input_shape) {
  Activation input;
  if (input_shape.size() == 3)
    input = Activation{int(input_shape[0]), int(input_shape[1]), int(input_shape[2])};
  else if (input_shape.size() == 1)
    input = Activation{int(input_shape[0]), 1, 1, true};
  else
    throw std::invalid_argument("inference plan: input shape must be (c, h, w) or (features), got " +
                                std::to_string(input_shape.size()) + " dimensions");
  input_size_ = input.size();
  steps_ = Compiler(model, input).compile();
  output_size_ = steps_.empty() ? input_size_ : steps_.back()->output.size();
  largest_activation_ = output_size_;
  for (const auto& step : steps_) largest_activation_ = std::max(largest_activation_, step->output.size());
}

Plan::~Plan() = default;
Plan::Plan(Plan&&) noexcept = default;
Plan& Plan::operator=(Plan&&) noexcept = default;

std::string Plan::describe() const {
  std::string text;
  for (size_t i = 0; i < steps_.size(); ++i) text += std::to_string(i + 1) + ". " + steps_[i]->what + "\n";
  return text;
}

void Plan::run(const float* x, int64_t n, float* y, Workspace& workspace) const {
  if (n < 1) return;
  if (steps_.empty()) {
    std::copy_n(x, n * input_size_, y);
    return;
  }
  const size_t need = size_t(n * largest_activation_);
  if (workspace.ping.size() < need) workspace.ping.resize(need);
  if (workspace.pong.size() < need) workspace.pong.resize(need);
  ThreadCountGuard threads;
  const float* in = x;
  for (size_t i = 0; i < steps_.size(); ++i) {
    const Step& step = *steps_[i];
    float* out = i + 1 == steps_.size() ? y : (i % 2 == 0 ? workspace.ping.data() : workspace.pong.data());
    omp_set_num_threads(step.macs_per_image * double(n) >= kMultiThreadMinMacs ? threads.saved() : 1);
    step.run(n, in, out);
    in = out;
  }
}

}  // namespace gc::infer
