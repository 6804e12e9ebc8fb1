#include "serialize/onnx_import.h"

#include <onnx/onnx_pb.h>

#include <charconv>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "engine/ops.h"
#include "serialize/onnx_tensors.h"

namespace gc {
namespace {

using serialize::FormatError;
using serialize::TensorRecord;

// Bounds on what a graph may ask of the engine per image, checked before the
// network is built: values in one activation, and multiply-adds.
constexpr int64_t kMaxActivation = int64_t{1} << 24;
constexpr int64_t kMaxMacs = int64_t{1} << 30;
constexpr int64_t kMaxAttribute = 1000000;  // kernel, stride, padding, dilation (as layers/spec.cpp)

constexpr const char* kSupported =
    "Conv (group 1), MaxPool, AveragePool, Relu, Tanh, Sigmoid, Flatten, Reshape (constant shape), Gemm, "
    "MatMul + Add, Identity, Dropout, Constant, Pad (zeros, before a Conv or AveragePool), and Cast/Mul/Sub/Div on "
    "a uint8 input";
const std::set<std::string> kOps = {"Conv",    "MaxPool", "AveragePool", "Relu",     "Tanh", "Sigmoid",
                                    "Flatten", "Reshape", "Gemm",        "MatMul",   "Add",  "Identity",
                                    "Dropout", "Constant", "Pad",        "Cast",     "Mul",  "Sub",  "Div"};

std::string exact(double value) {
  char buffer[32];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

std::string dims_text(const std::vector<int64_t>& dims) {
  std::string text = "[";
  for (size_t i = 0; i < dims.size(); ++i) text += (i ? "," : "") + std::to_string(dims[i]);
  return text + "]";
}

// Walks the graph from its input to its output, one node after another, and
// collects the layer tokens and parameters (header).
class Importer {
 public:
  Importer(const ::onnx::ModelProto& model, std::string source) : model_(model), graph_(model.graph()),
                                                                   source_(std::move(source)) {}

  serialize::ModelFile run() {
    read_opset();
    check_ops();
    index_values();
    check_acyclic();
    read_input();
    std::string current = graph_.input(input_index_).name();
    if (raw_input_) current = preprocessing(current);
    while (current != output_name_) current = layer(sole_consumer(current), current);
    for (int i = 0; i < graph_.node_size(); ++i)
      if (!used_.contains(i) && graph_.node(i).op_type() != "Constant")
        fail(node_label(i) + " is not on the chain from the input to output '" + output_name_ + "'");
    return model_file();
  }

 private:
  [[noreturn]] void fail(const std::string& why) const { throw FormatError(source_ + ": " + why); }

  std::string node_label(int i) const {
    const auto& n = graph_.node(i);
    return "node '" + (n.name().empty() ? "#" + std::to_string(i) : n.name()) + "' (" + n.op_type() + ")";
  }

  void read_opset() {
    for (const auto& o : model_.opset_import())
      if (o.domain().empty() || o.domain() == "ai.onnx") opset_ = o.version();
    if (opset_ == 0) fail("no opset_import for the default ONNX domain");
    if (opset_ < 11 || opset_ > 17) fail("opset " + std::to_string(opset_) + " is not supported (11 to 17)");
  }

  // Every node's op must be one we translate, before any other work.
  void check_ops() const {
    for (int i = 0; i < graph_.node_size(); ++i) {
      const auto& n = graph_.node(i);
      const bool default_domain = n.domain().empty() || n.domain() == "ai.onnx";
      if (!default_domain || !kOps.contains(n.op_type()))
        fail(node_label(i) + ": op_type '" + n.op_type() + "'" + (default_domain ? "" : " of domain '" + n.domain() + "'") +
             " at opset " + std::to_string(opset_) + " is not supported; supported: " + kSupported);
    }
  }

  // Constants (initializers and Constant nodes), and who produces and
  // consumes each value. A value may be defined once.
  void index_values() {
    auto define = [&](const std::string& name, const std::string& by) {
      if (name.empty()) return;
      if (!defined_.insert(name).second) fail("value '" + name + "' is defined twice (again by " + by + ")");
    };
    for (const auto& t : graph_.initializer()) {
      define(t.name(), "an initializer");
      constants_[t.name()] = &t;
    }
    for (int i = 0; i < graph_.node_size(); ++i) {
      const auto& n = graph_.node(i);
      for (const auto& out : n.output()) {
        define(out, node_label(i));
        producer_[out] = i;
      }
      if (n.op_type() == "Constant") {
        if (n.attribute_size() != 1 || n.attribute(0).name() != "value" || !n.attribute(0).has_t() ||
            n.output_size() != 1)
          fail(node_label(i) + ": only a Constant with one 'value' tensor is supported");
        constants_[n.output(0)] = &n.attribute(0).t();
        continue;
      }
      for (const auto& in : n.input())
        if (!in.empty()) consumers_[in].push_back(i);
    }
  }

  // Kahn's algorithm: nodes whose inputs all exist leave one by one; any left
  // over lie on a cycle.
  void check_acyclic() const {
    std::vector<int> waiting(graph_.node_size(), 0);
    std::vector<std::vector<int>> feeds(graph_.node_size());
    for (int i = 0; i < graph_.node_size(); ++i)
      for (const auto& in : graph_.node(i).input())
        if (auto p = producer_.find(in); p != producer_.end()) {
          ++waiting[i];
          feeds[p->second].push_back(i);
        }
    std::vector<int> ready;
    for (int i = 0; i < graph_.node_size(); ++i)
      if (waiting[i] == 0) ready.push_back(i);
    int done = 0;
    while (!ready.empty()) {
      int i = ready.back();
      ready.pop_back();
      ++done;
      for (int next : feeds[i])
        if (--waiting[next] == 0) ready.push_back(next);
    }
    if (done == graph_.node_size()) return;
    for (int i = 0; i < graph_.node_size(); ++i)
      if (waiting[i] > 0) fail("the graph has a cycle through " + node_label(i));
  }

  // One tensor input (not an initializer), [N, c, h, w] or [N, features],
  // float32 or uint8; one output.
  void read_input() {
    for (int i = 0; i < graph_.input_size(); ++i)
      if (!constants_.contains(graph_.input(i).name())) {
        if (input_index_ >= 0) fail("more than one graph input (only one image tensor is supported)");
        input_index_ = i;
      }
    if (input_index_ < 0) fail("no graph input");
    if (graph_.output_size() != 1) fail(std::to_string(graph_.output_size()) + " graph outputs, expected 1 (logits)");
    output_name_ = graph_.output(0).name();
    const auto& value = graph_.input(input_index_);
    const std::string what = "graph input '" + value.name() + "'";
    if (!value.type().has_tensor_type()) fail(what + " is not a tensor");
    const auto& type = value.type().tensor_type();
    if (type.elem_type() == ::onnx::TensorProto::UINT8) raw_input_ = true;
    else if (type.elem_type() != ::onnx::TensorProto::FLOAT)
      fail(what + ": element type " + std::to_string(type.elem_type()) + ", expected float (1) or uint8 (2)");
    const int rank = type.has_shape() ? type.shape().dim_size() : 0;
    if (rank != 4 && rank != 2) fail(what + ": rank " + std::to_string(rank) + ", expected [N,c,h,w] or [N,features]");
    for (int d = 1; d < rank; ++d) {
      const auto& dim = type.shape().dim(d);
      if (!dim.has_dim_value() || dim.dim_value() < 1 || dim.dim_value() > kMaxActivation)
        fail(what + ": dimension " + std::to_string(d) + " must be a number from 1 to " +
             std::to_string(kMaxActivation) + (dim.has_dim_value() ? ", got " + std::to_string(dim.dim_value()) : ""));
      shape_.push_back(dim.dim_value());
    }
    input_shape_ = shape_;
    check_size(what);
  }

  void check_size(const std::string& what) const {
    int64_t n = 1;
    for (int64_t d : shape_) {
      if (d < 1 || d > kMaxActivation / n) fail(what + " gives " + dims_text(shape_) + " per image, more than " +
                                                std::to_string(kMaxActivation) + " values or empty");
      n *= d;
    }
  }

  // The one node reading `value`; the value must be its first input.
  int sole_consumer(const std::string& value) {
    auto it = consumers_.find(value);
    if (it == consumers_.end() || it->second.empty())
      fail("value '" + value + "' is read by no node, so output '" + output_name_ + "' is never reached");
    if (it->second.size() > 1)
      fail("value '" + value + "' is read by " + node_label(it->second[0]) + " and " + node_label(it->second[1]) +
           ": only a chain of layers is supported");
    const int i = it->second[0];
    if (used_.contains(i)) fail(node_label(i) + " is reached twice");
    used_.insert(i);
    return i;
  }

  // Input k of node i, which must be a constant.
  const ::onnx::TensorProto& constant_input(int i, int k) const {
    const auto& n = graph_.node(i);
    if (k >= n.input_size() || n.input(k).empty()) fail(node_label(i) + ": input " + std::to_string(k) + " is missing");
    auto it = constants_.find(n.input(k));
    if (it == constants_.end())
      fail(node_label(i) + ": input '" + n.input(k) + "' is " +
           (producer_.contains(n.input(k)) ? "computed, but must be a constant (an initializer)"
                                           : "neither an initializer nor produced by any node (missing initializer?)"));
    return *it->second;
  }
  bool has_input(int i, int k) const { return k < graph_.node(i).input_size() && !graph_.node(i).input(k).empty(); }

  // The node's extra outputs (MaxPool indices, Dropout mask) must be unused.
  std::string single_output(int i) const {
    const auto& n = graph_.node(i);
    if (n.output_size() < 1) fail(node_label(i) + " has no output");
    for (int k = 1; k < n.output_size(); ++k)
      if (!n.output(k).empty() && (consumers_.contains(n.output(k)) || n.output(k) == output_name_))
        fail(node_label(i) + ": output " + std::to_string(k) + " ('" + n.output(k) + "') is used; only the first may be");
    return n.output(0);
  }

  // Attributes.
  const ::onnx::AttributeProto* attribute(int i, const std::string& name) const {
    for (const auto& a : graph_.node(i).attribute())
      if (a.name() == name) return &a;
    return nullptr;
  }
  int64_t int_attribute(int i, const std::string& name, int64_t fallback) const {
    const auto* a = attribute(i, name);
    if (!a) return fallback;
    if (a->type() != ::onnx::AttributeProto::INT) fail(node_label(i) + ": attribute '" + name + "' is not an int");
    return a->i();
  }
  float float_attribute(int i, const std::string& name, float fallback) const {
    const auto* a = attribute(i, name);
    if (!a) return fallback;
    if (a->type() != ::onnx::AttributeProto::FLOAT) fail(node_label(i) + ": attribute '" + name + "' is not a float");
    return a->f();
  }
  std::vector<int64_t> ints_attribute(int i, const std::string& name, std::vector<int64_t> fallback) const {
    const auto* a = attribute(i, name);
    if (!a) return fallback;
    if (a->type() != ::onnx::AttributeProto::INTS) fail(node_label(i) + ": attribute '" + name + "' is not ints");
    return {a->ints().begin(), a->ints().end()};
  }
  // A kernel_shape, strides or dilations attribute: one value per image
  // axis (height, width), each from `low` to kMaxAttribute.
  Hw per_axis(int i, const std::string& name, const std::vector<int64_t>& values, int64_t low) const {
    if (values.size() != 2)
      fail(node_label(i) + ": " + name + " " + dims_text(values) + " has " + std::to_string(values.size()) +
           " values, expected 2 (a 2-d image)");
    for (int64_t v : values)
      if (v < low || v > kMaxAttribute)
        fail(node_label(i) + ": " + name + " " + dims_text(values) + " out of range: each value must be from " +
             std::to_string(low) + " to " + std::to_string(kMaxAttribute));
    return {static_cast<int>(values[0]), static_cast<int>(values[1])};
  }
  // pads [top, left, bottom, right]: gradcore pads both sides of an axis
  // alike, so top = bottom and left = right.
  Hw symmetric_pads(int i, const std::vector<int64_t>& pads) const {
    if (pads.size() != 4)
      fail(node_label(i) + ": pads " + dims_text(pads) + " has " + std::to_string(pads.size()) +
           " values, expected 4 (a 2-d image)");
    if (pads[0] != pads[2] || pads[1] != pads[3])
      fail(node_label(i) + ": pads " + dims_text(pads) + " unsupported: gradcore pads both sides of an axis alike " +
           "(top = bottom, left = right)");
    return per_axis(i, "pads", {pads[0], pads[1]}, 0);
  }
  void expect_no_auto_pad(int i) const {
    const auto* a = attribute(i, "auto_pad");
    if (a && a->s() != "NOTSET" && a->s() != "VALID")
      fail(node_label(i) + ": auto_pad '" + a->s() + "' is not supported (give explicit pads)");
  }

  // The values of a spatial layer's output: [c, h, w] from [c, h, w].
  void spatial(int i, int64_t channels, Hw kernel, Hw stride, Hw padding, Hw dilation) {
    if (shape_.size() != 3) fail(node_label(i) + ": needs an input [N,c,h,w], got per image " + dims_text(shape_));
    auto out_size = [&](int64_t size, int k, int step, int pad, int dil) {
      const int64_t span = int64_t{dil} * (k - 1) + 1, padded = size + 2 * int64_t{pad};
      if (padded < span)
        fail(node_label(i) + ": a " + std::to_string(span) + "-wide window does not fit the input " + dims_text(shape_));
      return (padded - span) / step + 1;
    };
    shape_[1] = out_size(shape_[1], kernel.h, stride.h, padding.h, dilation.h);
    shape_[2] = out_size(shape_[2], kernel.w, stride.w, padding.w, dilation.w);
    shape_[0] = channels;
    check_size(node_label(i));
  }

  int64_t features(int i) const {
    if (shape_.size() != 1)
      fail(node_label(i) + ": needs an input [N,features], got per image " + dims_text(shape_) + " (Flatten first)");
    return shape_[0];
  }

  void add_macs(int i, double macs) {
    macs_ += macs;
    if (macs_ > double(kMaxMacs))
      fail(node_label(i) + ": the network would need more than " + std::to_string(kMaxMacs) +
           " multiply-adds per image");
  }

  // One node (with the Add after a MatMul) as layer tokens; returns the value
  // it leaves for the next layer.
  std::string layer(int i, const std::string& current) {
    const auto& n = graph_.node(i);
    const std::string& op = n.op_type();
    if (n.input(0) != current)
      fail(node_label(i) + ": takes '" + current + "', the previous layer's output, as an input other than its first");
    if (op == "Conv") return conv(i);
    if (op == "MaxPool" || op == "AveragePool") return pool(i);
    if (op == "Gemm") return gemm(i);
    if (op == "MatMul") return matmul(i);
    if (op == "Dropout") return dropout(i);
    if (op == "Flatten") {
      int64_t axis = int_attribute(i, "axis", 1);
      if (axis < 0) axis += static_cast<int64_t>(shape_.size()) + 1;
      if (axis != 1) fail(node_label(i) + ": axis " + std::to_string(int_attribute(i, "axis", 1)) + ", only 1 is supported");
      return flatten(i);
    }
    if (op == "Reshape") return reshape(i);
    if (op == "Relu" || op == "Tanh" || op == "Sigmoid") {
      tokens_.push_back(op == "Relu" ? "relu" : op == "Tanh" ? "tanh" : "sigmoid");
      return single_output(i);
    }
    if (op == "Identity") return single_output(i);
    if (op == "Pad") return zero_pad(i);
    fail(node_label(i) + ": " + (op == "Add" ? "Add is supported only as the bias after a MatMul"
                                             : op + " is supported only on a uint8 input, before the first layer"));
  }

  std::string conv(int i) {
    const auto& w = constant_input(i, 1);
    const std::vector<int64_t> wd = onnx_dims(w, source_, w.name());
    if (wd.size() != 4) fail(node_label(i) + ": weight '" + w.name() + "' has dims " + dims_text(wd) + ", expected [out,in,kh,kw]");
    if (int_attribute(i, "group", 1) != 1) fail(node_label(i) + ": group " + std::to_string(int_attribute(i, "group", 1)) + ", only 1 is supported");
    expect_no_auto_pad(i);
    const Hw kernel = per_axis(i, "kernel", {wd[2], wd[3]}, 1);
    if (ints_attribute(i, "kernel_shape", {wd[2], wd[3]}) != std::vector<int64_t>{wd[2], wd[3]})
      fail(node_label(i) + ": kernel_shape " + dims_text(ints_attribute(i, "kernel_shape", {})) + " contradicts weight " + dims_text(wd));
    const Hw stride = per_axis(i, "strides", ints_attribute(i, "strides", {1, 1}), 1);
    const Hw padding = with_pending_pad(i, symmetric_pads(i, ints_attribute(i, "pads", {0, 0, 0, 0})));
    const Hw dilation = per_axis(i, "dilations", ints_attribute(i, "dilations", {1, 1}), 1);
    if (shape_.size() != 3 || shape_[0] != wd[1])
      fail(node_label(i) + ": weight '" + w.name() + "' " + dims_text(wd) + " wants " + std::to_string(wd[1]) +
           " input channels, the input has per image " + dims_text(shape_));
    spatial(i, wd[0], kernel, stride, padding, dilation);
    add_macs(i, double(shape_[0]) * shape_[1] * shape_[2] * wd[1] * wd[2] * wd[3]);
    std::vector<float> bias(wd[0], 0.0f);
    if (has_input(i, 2)) bias = vector_of(constant_input(i, 2), wd[0], i, "bias");
    const std::string name = "conv" + std::to_string(++convs_);
    tensors_.push_back(TensorRecord::from_floats(name + ".weight", wd, onnx_floats(w, source_, w.name()).data()));
    tensors_.push_back(TensorRecord::from_floats(name + ".bias", {wd[0]}, bias.data()));
    tokens_.push_back("conv(" + std::to_string(wd[1]) + "," + std::to_string(wd[0]) + "," + kernel.str() + "," +
                      stride.str() + "," + padding.str() + "," + dilation.str() + ")");
    return single_output(i);
  }

  // MaxPool and AveragePool, floor mode. Our average divides by the whole
  // window, padding included: ONNX's count_include_pad 1 (PyTorch's default,
  // which torch.onnx.export writes as a Pad of zeros and an unpadded pool).
  std::string pool(int i) {
    const bool max = graph_.node(i).op_type() == "MaxPool";
    expect_no_auto_pad(i);
    if (int_attribute(i, "ceil_mode", 0) != 0) fail(node_label(i) + ": ceil_mode 1 is not supported (floor only)");
    const Hw kernel = per_axis(i, "kernel_shape", ints_attribute(i, "kernel_shape", {}), 1);
    const Hw stride = per_axis(i, "strides", ints_attribute(i, "strides", {1, 1}), 1);
    const Hw own_pads = symmetric_pads(i, ints_attribute(i, "pads", {0, 0, 0, 0}));
    if (!max && own_pads != 0 && int_attribute(i, "count_include_pad", 0) == 0)
      fail(node_label(i) + ": pads " + own_pads.str() + " with count_include_pad 0 unsupported: gradcore's average " +
           "divides by the whole window, padding included (count_include_pad 1)");
    if (max && pending_pad_ != 0)
      fail(node_label(i) + ": a Pad of zeros before a MaxPool is not supported (MaxPool pads with -infinity)");
    const Hw padding = with_pending_pad(i, own_pads);
    if (padding.h * 2 > kernel.h || padding.w * 2 > kernel.w)
      fail(node_label(i) + ": padding " + padding.str() + " unsupported for kernel " + kernel.str() +
           ": a pooling's padding is at most half its kernel");
    if (per_axis(i, "dilations", ints_attribute(i, "dilations", {1, 1}), 1) != 1)
      fail(node_label(i) + ": dilations are not supported for pooling");
    spatial(i, shape_.empty() ? 0 : shape_[0], kernel, stride, padding, 1);
    tokens_.push_back(std::string(max ? "maxpool(" : "avgpool(") + kernel.str() + "," + stride.str() + "," +
                      padding.str() + ")");
    return single_output(i);
  }

  // A layer's own pads plus those of a Pad node just before it.
  Hw with_pending_pad(int i, Hw own) {
    const Hw pad = pending_pad_;
    pending_pad_ = 0;
    if (pad != 0 && own != 0)
      fail(node_label(i) + ": pads " + own.str() + " after a Pad node of " + pad.str() + ": give one or the other");
    return {own.h + pad.h, own.w + pad.w};
  }

  std::string flatten(int i) {
    int64_t n = 1;
    for (int64_t d : shape_) n *= d;
    shape_ = {n};
    tokens_.push_back("flatten");
    return single_output(i);
  }

  // A constant shape that flattens to [N, features] (header).
  std::string reshape(int i) {
    if (int_attribute(i, "allowzero", 0) != 0) fail(node_label(i) + ": allowzero 1 is not supported");
    const std::vector<int64_t> target = onnx_int64s(constant_input(i, 1), source_, graph_.node(i).input(1));
    int64_t n = 1;
    for (int64_t d : shape_) n *= d;
    const bool flat = target.size() == 2 && (target[0] == -1 || target[0] == 0) &&
                      (target[1] == n || (target[1] == -1 && target[0] == 0));
    if (!flat)
      fail(node_label(i) + ": shape " + dims_text(target) + " unsupported for input " + dims_text(shape_) +
           " per image; supported: [-1," + std::to_string(n) + "], [0," + std::to_string(n) + "], [0,-1]");
    return flatten(i);
  }

  // Gemm: Y = alpha · A' · B' + beta · C with A the running value.
  std::string gemm(int i) {
    if (int_attribute(i, "transA", 0) != 0)
      fail(node_label(i) + ": transA 1 would transpose the batch; only transA 0 is supported");
    const auto& b = constant_input(i, 1);
    const std::vector<int64_t> bd = onnx_dims(b, source_, b.name());
    const bool trans_b = int_attribute(i, "transB", 0) != 0;
    if (bd.size() != 2) fail(node_label(i) + ": B '" + b.name() + "' has dims " + dims_text(bd) + ", expected rank 2");
    const int64_t in = trans_b ? bd[1] : bd[0], out = trans_b ? bd[0] : bd[1];
    std::vector<float> weight = onnx_floats(b, source_, b.name());
    if (!trans_b) weight = transposed(weight, in, out);
    const float alpha = float_attribute(i, "alpha", 1.0f), beta = float_attribute(i, "beta", 1.0f);
    if (alpha != 1.0f)
      for (float& v : weight) v *= alpha;
    std::vector<float> bias(out, 0.0f);
    if (has_input(i, 2)) {
      bias = vector_of(constant_input(i, 2), out, i, "C");
      if (beta != 1.0f)
        for (float& v : bias) v *= beta;
    }
    return linear(i, in, out, weight, bias, single_output(i));
  }

  // MatMul by a constant [in, out], and the Add of a constant bias after it.
  std::string matmul(int i) {
    const auto& b = constant_input(i, 1);
    const std::vector<int64_t> bd = onnx_dims(b, source_, b.name());
    if (bd.size() != 2) fail(node_label(i) + ": B '" + b.name() + "' has dims " + dims_text(bd) + ", expected [in,out]");
    const std::vector<float> weight = transposed(onnx_floats(b, source_, b.name()), bd[0], bd[1]);
    std::string out = single_output(i);
    std::vector<float> bias(bd[1], 0.0f);
    auto next = consumers_.find(out);
    if (next != consumers_.end() && next->second.size() == 1 && graph_.node(next->second[0]).op_type() == "Add" &&
        out != output_name_) {
      const int add = sole_consumer(out);
      const auto& n = graph_.node(add);
      if (n.input_size() != 2) fail(node_label(add) + ": expected two inputs");
      bias = vector_of(constant_input(add, n.input(0) == out ? 1 : 0), bd[1], add, "bias");
      out = single_output(add);
    }
    return linear(i, bd[0], bd[1], weight, bias, out);
  }

  std::string linear(int i, int64_t in, int64_t out, const std::vector<float>& weight, const std::vector<float>& bias,
                     std::string output) {
    if (features(i) != in)
      fail(node_label(i) + ": weight for " + std::to_string(in) + " inputs, but the input has " +
           std::to_string(shape_[0]) + " features");
    shape_ = {out};
    check_size(node_label(i));
    add_macs(i, double(in) * out);
    const std::string name = "fc" + std::to_string(++fcs_);
    tensors_.push_back(TensorRecord::from_floats(name + ".weight", {out, in}, weight.data()));
    tensors_.push_back(TensorRecord::from_floats(name + ".bias", {out}, bias.data()));
    tokens_.push_back("linear(" + std::to_string(in) + "," + std::to_string(out) + ")");
    return output;
  }

  // A Pad of zeros on the image axes, the same on both sides, taken by the
  // Conv or AveragePool that follows (torch.onnx.export writes AvgPool2d's
  // padding this way). Opset 11 made the pads an input.
  std::string zero_pad(int i) {
    const auto* mode = attribute(i, "mode");
    if (mode && mode->s() != "constant") fail(node_label(i) + ": mode '" + mode->s() + "' is not supported");
    if (has_input(i, 2) && scalar(constant_input(i, 2), i, "constant_value") != 0.0f)
      fail(node_label(i) + ": only a Pad of zeros is supported");
    const std::vector<int64_t> p = onnx_int64s(constant_input(i, 1), source_, graph_.node(i).input(1));
    // [n, c, h, w] begins, then the same ends.
    if (p.size() != 8 || p[0] != 0 || p[1] != 0 || p[4] != 0 || p[5] != 0)
      fail(node_label(i) + ": pads " + dims_text(p) + " unsupported: only the image axes of [N,c,h,w] may be padded");
    const Hw pad = symmetric_pads(i, {p[2], p[3], p[6], p[7]});
    const std::string out = single_output(i);
    if (pad == 0) return out;
    const auto next = consumers_.find(out);
    const std::string next_op =
        next == consumers_.end() || next->second.size() != 1 ? "" : graph_.node(next->second[0]).op_type();
    if (next_op != "Conv" && next_op != "AveragePool")
      fail(node_label(i) + ": a Pad of " + pad.str() + " is supported only right before a Conv or AveragePool");
    pending_pad_ = pad;
    return out;
  }

  // Opset 12 moved the ratio from an attribute to an input; a training_mode
  // input must be a constant false.
  std::string dropout(int i) {
    float ratio = float_attribute(i, "ratio", 0.5f);
    if (opset_ >= 12 && has_input(i, 1)) ratio = scalar(constant_input(i, 1), i, "ratio");
    if (has_input(i, 2) && onnx_bool(constant_input(i, 2), source_, graph_.node(i).input(2)))
      fail(node_label(i) + ": training_mode true is not supported");
    if (!(ratio >= 0 && ratio < 1)) fail(node_label(i) + ": ratio " + exact(ratio) + ", expected 0 <= ratio < 1");
    tokens_.push_back("dropout(" + exact(ratio) + ")");
    return single_output(i);
  }

  // Cast to float, Mul, Sub, Div by scalars: gradcore export --raw-input.
  std::string preprocessing(std::string current) {
    const char* expected[] = {"Cast", "Mul", "Sub", "Div"};
    double* constants[] = {nullptr, &scale_, &mean_, &std_};
    for (int step = 0; step < 4; ++step) {
      const int i = sole_consumer(current);
      if (graph_.node(i).op_type() != expected[step] || graph_.node(i).input(0) != current)
        fail("uint8 input: " + node_label(i) + " found where " + expected[step] +
             " was expected (a uint8 input must go through Cast to float, Mul, Sub, Div by constants)");
      if (step == 0 && int_attribute(i, "to", 0) != ::onnx::TensorProto::FLOAT)
        fail(node_label(i) + ": must cast to float (1)");
      if (step > 0) *constants[step] = scalar(constant_input(i, 1), i, "constant");
      current = single_output(i);
    }
    return current;
  }

  float scalar(const ::onnx::TensorProto& t, int i, const char* what) const {
    std::vector<float> v = onnx_floats(t, source_, t.name());
    if (v.size() != 1) fail(node_label(i) + ": " + what + " '" + t.name() + "' must hold one value");
    return v[0];
  }

  // A bias: [n], [1, n], or one value broadcast to n.
  std::vector<float> vector_of(const ::onnx::TensorProto& t, int64_t n, int i, const char* what) const {
    std::vector<float> v = onnx_floats(t, source_, t.name());
    if (v.size() == 1) return std::vector<float>(n, v[0]);
    const std::vector<int64_t> d = onnx_dims(t, source_, t.name());
    if (static_cast<int64_t>(v.size()) != n || d.back() != n)
      fail(node_label(i) + ": " + what + " '" + t.name() + "' has dims " + dims_text(d) + ", expected [" +
           std::to_string(n) + "]");
    return v;
  }

  static std::vector<float> transposed(const std::vector<float>& m, int64_t rows, int64_t cols) {
    std::vector<float> t(m.size());
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) t[c * rows + r] = m[r * cols + c];
    return t;
  }

  serialize::ModelFile model_file() const {
    std::map<std::string, std::string> meta;
    for (const auto& entry : model_.metadata_props()) meta[entry.key()] = entry.value();
    auto number = [&](const std::string& key, double fallback) {
      if (!meta.contains(key)) return fallback;
      try {
        size_t used = 0;
        double v = std::stod(meta[key], &used);
        if (used == meta[key].size()) return v;
      } catch (const std::exception&) {
      }
      fail("metadata_props '" + key + "': '" + meta[key] + "' is not a number");
    };
    serialize::ModelFile file;
    const int64_t classes = shape_.size() == 1 ? shape_[0] : 0;
    std::vector<std::string> labels;
    if (meta.contains("labels")) {
      try {
        labels = nlohmann::json::parse(meta["labels"]).get<std::vector<std::string>>();
      } catch (const std::exception& e) {
        fail("metadata_props 'labels': not a JSON array of strings: " + std::string(e.what()));
      }
    } else {
      for (int64_t c = 0; c < classes && c < kMaxActivation; ++c) labels.push_back(std::to_string(c));
    }
    std::string tokens;
    for (const std::string& t : tokens_) tokens += (tokens.empty() ? "" : " ") + t;
    const std::string stem = std::filesystem::path(source_).stem().string();
    file.metadata["model.name"] = meta.contains("model.name") ? meta["model.name"] : stem;
    file.metadata["model.version"] = static_cast<int64_t>(
        number("model.version", model_.model_version() > 0 ? double(model_.model_version()) : 1));
    file.metadata["model.architecture"] = tokens;
    file.metadata["input.shape"] = input_shape_;
    file.metadata["input.scale"] = raw_input_ ? scale_ : number("input.scale", 1.0 / 255);
    file.metadata["input.mean"] = raw_input_ ? mean_ : number("input.mean", 0.1307);
    file.metadata["input.std"] = raw_input_ ? std_ : number("input.std", 0.3081);
    file.metadata["labels"] = labels;
    file.metadata["train.dataset"] = meta.contains("train.dataset") ? meta["train.dataset"] : std::string("mnist");
    file.metadata["train.test_accuracy"] = number("train.test_accuracy", -1);
    file.metadata["origin.format"] = std::string("onnx");
    file.metadata["origin.file"] = source_;
    file.metadata["origin.producer"] = model_.producer_name() + " " + model_.producer_version();
    file.metadata["origin.opset"] = static_cast<int64_t>(opset_);
    for (const TensorRecord& t : tensors_) file.add_tensor(t);
    return file;
  }

  const ::onnx::ModelProto& model_;
  const ::onnx::GraphProto& graph_;
  std::string source_;
  int64_t opset_ = 0;
  std::set<std::string> defined_;
  std::map<std::string, const ::onnx::TensorProto*> constants_;
  std::map<std::string, int> producer_;
  std::map<std::string, std::vector<int>> consumers_;
  std::set<int> used_;
  int input_index_ = -1;
  std::string output_name_;
  bool raw_input_ = false;
  double scale_ = 0, mean_ = 0, std_ = 1;
  std::vector<int64_t> shape_, input_shape_;  // per image, without the batch
  Hw pending_pad_ = 0;  // from a Pad node, for the layer after it
  double macs_ = 0;
  std::vector<std::string> tokens_;
  std::vector<TensorRecord> tensors_;
  int convs_ = 0, fcs_ = 0;
};

}  // namespace

serialize::ModelFile onnx_to_model_file(std::span<const std::byte> bytes, const std::string& source) {
  if (bytes.size() > kMaxOnnxBytes)
    throw FormatError(source + ": " + std::to_string(bytes.size()) + " bytes, more than the " +
                      std::to_string(kMaxOnnxBytes) + " an ONNX file may have");
  ::onnx::ModelProto model;
  if (!model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    throw FormatError(source + ": not a valid ONNX protobuf (truncated or corrupt ModelProto)");
  if (!model.has_graph()) throw FormatError(source + ": the ModelProto has no graph");
  return Importer(model, source).run();
}

}  // namespace gc
