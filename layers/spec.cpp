#include "layers/spec.h"

#include <map>
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
  std::vector<double> args;
};

Token parse_token(const std::string& text, int index) {
  auto fail = [&](const std::string& why) -> std::invalid_argument {
    return std::invalid_argument("spec: token " + std::to_string(index) + " '" + text + "': " + why);
  };
  Token t{text, text, {}};
  size_t open = text.find('(');
  if (open == std::string::npos) return t;
  if (text.back() != ')') throw fail("missing ')'");
  t.kind = text.substr(0, open);
  std::stringstream args(text.substr(open + 1, text.size() - open - 2));
  std::string item;
  while (std::getline(args, item, ',')) {
    try {
      size_t used = 0;
      t.args.push_back(std::stod(item, &used));
      if (used != item.size()) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      throw fail("argument '" + item + "' is not a number");
    }
  }
  return t;
}

std::unique_ptr<Module> make_layer(const Token& t, int index) {
  auto fail = [&](const std::string& why) -> std::invalid_argument {
    return std::invalid_argument("spec: token " + std::to_string(index) + " '" + t.text + "': " + why);
  };
  // Positive integer arguments (count checked against the allowed counts).
  auto ints = [&](std::initializer_list<size_t> counts, const char* usage) {
    bool count_ok = false;
    for (size_t c : counts) count_ok |= t.args.size() == c;
    if (!count_ok)
      throw fail(t.kind + " needs " + usage + ", got " + std::to_string(t.args.size()) + " arguments");
    std::vector<int> v;
    for (double a : t.args) {
      if (a != static_cast<int>(a) || a < 0 || a > 1e6) throw fail("arguments must be non-negative integers");
      v.push_back(static_cast<int>(a));
    }
    return v;
  };
  auto no_args = [&] {
    if (!t.args.empty()) throw fail(t.kind + " takes no arguments");
  };
  if (t.kind == "conv") {
    auto a = ints({3, 5, 6}, "(in,out,k[,stride,padding[,dilation]])");
    a.resize(6, 0);
    if (a[0] < 1 || a[1] < 1 || a[2] < 1) throw fail("sizes must be ≥ 1");
    if (t.args.size() == 3) a[3] = 1;
    if (t.args.size() < 6) a[5] = 1;
    if (a[3] < 1 || a[5] < 1) throw fail("stride and dilation must be ≥ 1");
    return std::make_unique<Conv2d>(a[0], a[1], a[2], a[3], a[4], a[5]);
  }
  if (t.kind == "linear") {
    auto a = ints({2}, "(in,out)");
    if (a[0] < 1 || a[1] < 1) throw fail("sizes must be ≥ 1");
    return std::make_unique<Linear>(a[0], a[1]);
  }
  if (t.kind == "maxpool" || t.kind == "avgpool") {
    auto a = ints({1, 2}, "(k[,stride])");
    if (a[0] < 1 || (a.size() == 2 && a[1] < 1)) throw fail("sizes must be ≥ 1");
    int stride = a.size() == 2 ? a[1] : 0;
    if (t.kind == "maxpool") return std::make_unique<MaxPool2d>(a[0], stride);
    return std::make_unique<AvgPool2d>(a[0], stride);
  }
  if (t.kind == "dropout") {
    if (t.args.size() != 1 || !(t.args[0] >= 0 && t.args[0] < 1)) throw fail("dropout needs (p) with 0 ≤ p < 1");
    return std::make_unique<Dropout>(t.args[0]);
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
