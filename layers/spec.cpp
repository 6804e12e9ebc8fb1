#include "layers/spec.h"

#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "engine/autograd.h"
#include "layers/layers.h"

namespace gc {

static const std::map<std::string, std::string>& presets() {
  static const std::map<std::string, std::string> table = {
      {"seed-cnn",
       "conv(1,32,3) relu maxpool(2) conv(32,64,3) relu maxpool(2) conv(64,64,3) relu flatten "
       "linear(576,64) relu linear(64,10)"},
      {"lenet5",
       "conv(1,6,5,1,2) relu maxpool(2) conv(6,16,5) relu maxpool(2) flatten linear(400,120) relu "
       "linear(120,84) relu linear(84,10)"},
      {"mlp", "flatten linear(784,64) relu linear(64,10)"},
  };
  return table;
}

std::string resolve_preset(const std::string& name_or_spec) {
  auto it = presets().find(name_or_spec);
  return it == presets().end() ? name_or_spec : it->second;
}

std::vector<std::string> preset_names() {
  std::vector<std::string> names;
  for (const auto& [name, spec] : presets()) names.push_back(name);
  return names;
}

namespace {

struct Token {
  std::string text, kind;
  std::vector<std::string> args;
};

Token parse_token(const std::string& text, int index) {
  Token t{text, text, {}};
  size_t open = text.find('(');
  if (open == std::string::npos) return t;
  if (text.back() != ')')
    throw std::invalid_argument("spec: token " + std::to_string(index) + " '" + text + "': missing ')'");
  t.kind = text.substr(0, open);
  std::stringstream args(text.substr(open + 1, text.size() - open - 2));
  std::string item;
  while (std::getline(args, item, ',')) t.args.push_back(item);
  return t;
}

// A whole number from 0 to 10^6, or nothing.
std::optional<int> small_int(const std::string& text) {
  if (text.empty() || text.size() > 7 || text.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  const int v = std::stoi(text);
  return v <= 1000000 ? std::optional<int>(v) : std::nullopt;
}

std::unique_ptr<Module> make_layer(const Token& t, int index) {
  auto fail = [&](const std::string& why) -> std::invalid_argument {
    return std::invalid_argument("spec: token " + std::to_string(index) + " '" + t.text + "': " + why);
  };
  auto count_in = [&](std::initializer_list<size_t> counts, const char* usage) {
    for (size_t c : counts)
      if (t.args.size() == c) return;
    throw fail(t.kind + " needs " + usage + ", got " + std::to_string(t.args.size()) + " arguments");
  };
  // Argument i as a non-negative integer.
  auto whole = [&](size_t i) {
    const auto v = small_int(t.args[i]);
    if (!v) throw fail("argument '" + t.args[i] + "' is not an integer from 0 to 1000000");
    return *v;
  };
  // Argument i as N (both axes) or HxW.
  auto axes = [&](size_t i) {
    const std::string& a = t.args[i];
    const size_t x = a.find('x');
    const auto h = small_int(a.substr(0, x)), w = x == std::string::npos ? h : small_int(a.substr(x + 1));
    if (!h || !w) throw fail("argument '" + a + "' is not N or HxW with integers from 0 to 1000000");
    return Hw{*h, *w};
  };
  auto positive = [](Hw v) { return v.h >= 1 && v.w >= 1; };
  auto no_args = [&] {
    if (!t.args.empty()) throw fail(t.kind + " takes no arguments");
  };
  if (t.kind == "conv") {
    count_in({3, 5, 6}, "(in,out,k[,stride,padding[,dilation]])");
    const int in = whole(0), out = whole(1);
    const Hw kernel = axes(2), stride = t.args.size() > 3 ? axes(3) : Hw{1},
             padding = t.args.size() > 4 ? axes(4) : Hw{0}, dilation = t.args.size() > 5 ? axes(5) : Hw{1};
    if (in < 1 || out < 1 || !positive(kernel)) throw fail("sizes must be ≥ 1");
    if (!positive(stride) || !positive(dilation)) throw fail("stride and dilation must be ≥ 1");
    return std::make_unique<Conv2d>(in, out, kernel, stride, padding, dilation);
  }
  if (t.kind == "linear") {
    count_in({2}, "(in,out)");
    if (whole(0) < 1 || whole(1) < 1) throw fail("sizes must be ≥ 1");
    return std::make_unique<Linear>(whole(0), whole(1));
  }
  if (t.kind == "maxpool" || t.kind == "avgpool") {
    count_in({1, 2, 3}, "(k[,stride[,padding]])");
    const Hw kernel = axes(0), stride = t.args.size() > 1 ? axes(1) : kernel,
             padding = t.args.size() > 2 ? axes(2) : Hw{0};
    if (!positive(kernel) || !positive(stride)) throw fail("sizes must be ≥ 1");
    if (padding.h * 2 > kernel.h || padding.w * 2 > kernel.w) throw fail("padding must be at most half the kernel");
    if (t.kind == "maxpool") return std::make_unique<MaxPool2d>(kernel, stride, padding);
    return std::make_unique<AvgPool2d>(kernel, stride, padding);
  }
  if (t.kind == "dropout") {
    double p = -1;
    try {
      size_t used = 0;
      if (t.args.size() == 1) p = std::stod(t.args[0], &used);
      if (used != t.args[0].size()) p = -1;
    } catch (const std::exception&) {
    }
    if (!(p >= 0 && p < 1)) throw fail("dropout needs (p) with 0 ≤ p < 1");
    return std::make_unique<Dropout>(p);
  }
  if (t.kind == "relu") return no_args(), std::make_unique<ReLU>();
  if (t.kind == "tanh") return no_args(), std::make_unique<Tanh>();
  if (t.kind == "sigmoid") return no_args(), std::make_unique<Sigmoid>();
  if (t.kind == "flatten") return no_args(), std::make_unique<Flatten>();
  std::string known;
  for (const auto& name : preset_names()) known += (known.empty() ? "" : ", ") + name;
  throw fail("unknown layer '" + t.kind + "' (layers: conv linear maxpool avgpool relu tanh sigmoid flatten " +
             "dropout; presets: " + known + ")");
}

}  // namespace

std::unique_ptr<Sequential> build_model(const std::string& name_or_spec) {
  std::string spec = resolve_preset(name_or_spec);
  std::istringstream tokens(spec);
  auto model = std::make_unique<Sequential>();
  std::string text;
  int index = 0;
  while (tokens >> text) {
    ++index;
    model->add(make_layer(parse_token(text, index), index));
  }
  if (index == 0) throw std::invalid_argument("spec: empty model spec '" + name_or_spec + "'");
  return model;
}

Shape check_model_input(Sequential& model, const std::vector<int64_t>& input_shape) {
  NoGradGuard no_grad;
  std::vector<int64_t> dims = {1};
  dims.insert(dims.end(), input_shape.begin(), input_shape.end());
  Tensor h = Tensor::zeros(Shape(dims), model.parameters().empty() ? DType::F32 : model.parameters()[0].tensor->dtype());
  for (const auto& layer : model.layers()) {
    try {
      h = layer->forward(h);
    } catch (const std::exception& e) {
      throw std::invalid_argument("model does not fit input " + Shape(dims).str() + " at layer " + layer->name() +
                                  " '" + layer->spec() + "': " + e.what());
    }
  }
  return h.shape();
}

}  // namespace gc
