#include "serialize/onnx_export.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <charconv>
#include <cstring>
#include <nlohmann/json.hpp>
#include <span>
#include <stdexcept>

#include "layers/layers.h"
#include "serialize/atomic_file.h"

namespace gc {
namespace {

// Shortest text that reads back as the same double.
std::string exact(double value) {
  char buffer[32];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

void add_ints(::onnx::NodeProto& node, const std::string& name, std::vector<int64_t> values) {
  ::onnx::AttributeProto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INTS);
  for (int64_t v : values) a->add_ints(v);
}

void add_int(::onnx::NodeProto& node, const std::string& name, int64_t value) {
  ::onnx::AttributeProto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INT);
  a->set_i(value);
}

void add_float(::onnx::NodeProto& node, const std::string& name, float value) {
  ::onnx::AttributeProto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::FLOAT);
  a->set_f(value);
}

// A graph input or output: a tensor of `elem_type` whose first dimension is
// the symbolic batch N.
void describe(::onnx::ValueInfoProto& value, const std::string& name, int32_t elem_type,
              const std::vector<int64_t>& per_item) {
  value.set_name(name);
  ::onnx::TypeProto_Tensor* tensor = value.mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(elem_type);
  ::onnx::TensorShapeProto* shape = tensor->mutable_shape();
  shape->add_dim()->set_dim_param("N");
  for (int64_t d : per_item) shape->add_dim()->set_dim_value(d);
}

// Builds the node chain: each add() takes the previous node's output.
class ChainBuilder {
 public:
  ChainBuilder(::onnx::GraphProto& graph, std::string input) : graph_(graph), current_(std::move(input)) {}

  // A float32 initializer holding `values` with `dims` ([] for a scalar).
  std::string constant(const std::string& name, const std::vector<int64_t>& dims, std::span<const float> values) {
    ::onnx::TensorProto* t = graph_.add_initializer();
    t->set_name(name);
    t->set_data_type(::onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->add_dims(d);
    // raw_data is little-endian, as our floats are in memory (x86-64, aarch64).
    t->set_raw_data(values.data(), values.size_bytes());
    return name;
  }

  std::string parameter(const std::string& name, const Tensor& tensor) {
    Tensor host = tensor.device() == Device::CPU ? tensor : tensor.to(Device::CPU);
    Tensor f = host.dtype() == DType::F32 ? host : host.to(DType::F32);
    return constant(name, f.shape().to_vector(), {f.data<float>(), static_cast<size_t>(f.numel())});
  }

  // A node named `name` reading the current value and then `extra` inputs;
  // its output, named after it, becomes the current value (or is `output`).
  ::onnx::NodeProto& add(const std::string& op, const std::string& name, const std::vector<std::string>& extra = {},
                         const std::string& output = "") {
    ::onnx::NodeProto* node = graph_.add_node();
    node->set_op_type(op);
    node->set_name(name);
    node->add_input(current_);
    for (const std::string& e : extra) node->add_input(e);
    current_ = output.empty() ? name + ".out" : output;
    node->add_output(current_);
    return *node;
  }

  const std::string& current() const { return current_; }

 private:
  ::onnx::GraphProto& graph_;
  std::string current_;
};

void add_pool_window(::onnx::NodeProto& node, Hw kernel, Hw stride, Hw padding) {
  add_ints(node, "kernel_shape", {kernel.h, kernel.w});
  add_ints(node, "strides", {stride.h, stride.w});
  add_ints(node, "pads", {padding.h, padding.w, padding.h, padding.w});
}

const char* kExportable = "conv, linear, maxpool, avgpool, relu, tanh, sigmoid, flatten, dropout";

// One layer as one node (header). `last` names its output `logits`.
void add_layer(ChainBuilder& chain, Module& layer, int opset, bool last) {
  const std::string& name = layer.name();
  const std::string out = last ? "logits" : "";
  if (auto* conv = dynamic_cast<Conv2d*>(&layer)) {
    Conv2dOptions o = conv->options();
    std::vector<std::string> inputs = {chain.parameter(name + ".weight", conv->weight),
                                       chain.parameter(name + ".bias", conv->bias)};
    ::onnx::NodeProto& node = chain.add("Conv", name, inputs, out);
    add_ints(node, "kernel_shape", {conv->kernel().h, conv->kernel().w});
    add_ints(node, "strides", {o.stride.h, o.stride.w});
    add_ints(node, "pads", {o.padding.h, o.padding.w, o.padding.h, o.padding.w});  // begins, then ends
    add_ints(node, "dilations", {o.dilation.h, o.dilation.w});
    add_int(node, "group", 1);
  } else if (auto* fc = dynamic_cast<Linear*>(&layer)) {
    std::vector<std::string> inputs = {chain.parameter(name + ".weight", fc->weight),
                                       chain.parameter(name + ".bias", fc->bias)};
    ::onnx::NodeProto& node = chain.add("Gemm", name, inputs, out);
    add_int(node, "transB", 1);  // y = x · Wᵀ + b with W as we store it, [out, in]
  } else if (auto* pool = dynamic_cast<MaxPool2d*>(&layer)) {
    add_pool_window(chain.add("MaxPool", name, {}, out), pool->kernel(), pool->stride(), pool->padding());
  } else if (auto* avg = dynamic_cast<AvgPool2d*>(&layer)) {
    ::onnx::NodeProto& node = chain.add("AveragePool", name, {}, out);
    add_pool_window(node, avg->kernel(), avg->stride(), avg->padding());
    add_int(node, "count_include_pad", 1);  // our average divides by the whole window
  } else if (auto* dropout = dynamic_cast<Dropout*>(&layer)) {
    // Opset 12 made the ratio an input; either way inference passes x through.
    const float ratio = static_cast<float>(dropout->p());
    if (opset >= 12) {
      chain.add("Dropout", name, {chain.constant(name + ".ratio", {}, {&ratio, 1})}, out);
    } else {
      add_float(chain.add("Dropout", name, {}, out), "ratio", ratio);
    }
  } else if (dynamic_cast<Flatten*>(&layer)) {
    add_int(chain.add("Flatten", name, {}, out), "axis", 1);
  } else if (dynamic_cast<ReLU*>(&layer)) {
    chain.add("Relu", name, {}, out);
  } else if (dynamic_cast<Tanh*>(&layer)) {
    chain.add("Tanh", name, {}, out);
  } else if (dynamic_cast<Sigmoid*>(&layer)) {
    chain.add("Sigmoid", name, {}, out);
  } else {
    throw std::invalid_argument("export: layer " + name + " '" + layer.spec() + "' has no ONNX equivalent (exported: " +
                                kExportable + ")");
  }
}

// check_model, then shape inference with type checks and node errors fatal:
// what the Python API calls full_check. The inferred logits shape must merge
// with the declared [N, classes].
void check(const ::onnx::ModelProto& model) {
  try {
    ::onnx::checker::check_model(model);
    ::onnx::ModelProto inferred = model;
    ::onnx::shape_inference::InferShapes(inferred, ::onnx::OpSchemaRegistry::Instance(),
                                         ::onnx::ShapeInferenceOptions(true, 1, false));
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("export: the ONNX checker rejects the graph: ") + e.what());
  }
}

void add_metadata(::onnx::ModelProto& model, const std::string& key, const std::string& value) {
  ::onnx::StringStringEntryProto* entry = model.add_metadata_props();
  entry->set_key(key);
  entry->set_value(value);
}

}  // namespace

std::string export_onnx(Sequential& model, const ModelInfo& info, const OnnxExportOptions& options) {
  if (options.opset < kOnnxMinOpset || options.opset > kOnnxMaxOpset)
    throw std::invalid_argument("export: opset " + std::to_string(options.opset) + " is not supported (" +
                                std::to_string(kOnnxMinOpset) + " to " + std::to_string(kOnnxMaxOpset) + ")");
  if (model.layers().empty()) throw std::invalid_argument("export: the model has no layers");
  ::onnx::ModelProto proto;
  proto.set_ir_version(::onnx::IR_VERSION);
  proto.set_producer_name("gradcore");
  proto.set_producer_version("0.1.0");
  proto.set_model_version(info.version);
  proto.set_doc_string("gradcore model '" + info.name + "': " + model.spec());
  ::onnx::OperatorSetIdProto* opset = proto.add_opset_import();
  opset->set_domain("");
  opset->set_version(options.opset);

  ::onnx::GraphProto& graph = *proto.mutable_graph();
  graph.set_name(info.name);
  const std::string input = options.raw_input ? "pixels" : "input";
  describe(*graph.add_input(), input,
           options.raw_input ? ::onnx::TensorProto::UINT8 : ::onnx::TensorProto::FLOAT, info.input_shape);
  ChainBuilder chain(graph, input);
  if (options.raw_input) {
    const float scale = static_cast<float>(info.input_scale), mean = static_cast<float>(info.input_mean),
                std = static_cast<float>(info.input_std);
    add_int(chain.add("Cast", "to_float"), "to", ::onnx::TensorProto::FLOAT);
    chain.add("Mul", "scale", {chain.constant("input.scale", {}, {&scale, 1})});
    chain.add("Sub", "subtract_mean", {chain.constant("input.mean", {}, {&mean, 1})});
    chain.add("Div", "divide_by_std", {chain.constant("input.std", {}, {&std, 1})});
  }
  const auto& layers = model.layers();
  for (size_t i = 0; i < layers.size(); ++i) add_layer(chain, *layers[i], options.opset, i + 1 == layers.size());
  describe(*graph.add_output(), "logits", ::onnx::TensorProto::FLOAT, {static_cast<int64_t>(info.labels.size())});

  add_metadata(proto, "model.name", info.name);
  add_metadata(proto, "model.version", std::to_string(info.version));
  add_metadata(proto, "model.architecture", model.spec());
  add_metadata(proto, "labels", nlohmann::json(info.labels).dump());
  add_metadata(proto, "input.kind", options.raw_input ? "uint8 pixels, preprocessed in the graph"
                                                      : "float32, normalised: (pixel * input.scale - input.mean) / input.std");
  add_metadata(proto, "input.shape", nlohmann::json(info.input_shape).dump());
  add_metadata(proto, "input.scale", exact(info.input_scale));
  add_metadata(proto, "input.mean", exact(info.input_mean));
  add_metadata(proto, "input.std", exact(info.input_std));
  add_metadata(proto, "train.dataset", info.dataset);
  if (info.test_accuracy >= 0) add_metadata(proto, "train.test_accuracy", exact(info.test_accuracy));

  check(proto);
  std::string bytes;
  if (!proto.SerializeToString(&bytes)) throw std::runtime_error("export: protobuf could not serialize the model");
  return bytes;
}

void save_onnx(const std::filesystem::path& path, Sequential& model, const ModelInfo& info,
               const OnnxExportOptions& options) {
  const std::string bytes = export_onnx(model, info, options);
  serialize::write_file_atomically(path, std::as_bytes(std::span(bytes.data(), bytes.size())));
}

}  // namespace gc
