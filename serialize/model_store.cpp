#include "serialize/model_store.h"

#include <chrono>
#include <cstring>
#include <ctime>
#include <set>

#include "layers/layers.h"
#include "layers/spec.h"
#include "serialize/model_io.h"
#include "serialize/quantized_store.h"

namespace gc {

using serialize::FormatError;
using serialize::ModelFile;
using serialize::Section;
using serialize::TensorRecord;

static const char* kGradcoreVersion = "0.1.0";

static std::string utc_now() {
  std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

static TensorRecord to_record(const std::string& name, const Tensor& t) {
  Tensor host = t.device() == Device::CPU ? t : t.to(Device::CPU);
  Tensor f = host.dtype() == DType::F32 ? host : host.to(DType::F32);
  return TensorRecord::from_floats(name, f.shape().to_vector(), f.data<float>());
}

static Tensor from_record(const TensorRecord& r) {
  Tensor t = Tensor::empty(Shape(r.shape), DType::F32);
  auto values = r.floats();
  std::memcpy(t.data<float>(), values.data(), values.size_bytes());
  return t;
}

static std::vector<Dropout*> dropout_layers(Sequential& model) {
  std::vector<Dropout*> found;
  for (const auto& layer : model.layers())
    if (auto* d = dynamic_cast<Dropout*>(layer.get())) found.push_back(d);
  return found;
}

static void add_checkpoint(ModelFile& file, Sequential& model, const TrainingCheckpoint& c) {
  Section& opt = file.add_section("optimizer");
  opt.metadata["kind"] = c.optimizer.kind;
  opt.metadata["step"] = c.optimizer.step;
  for (const auto& [name, t] : c.optimizer.buffers) opt.add_tensor(to_record(name, t));

  Section& loader = file.add_section("loader");
  loader.metadata["epoch"] = c.epoch;
  loader.metadata["step"] = c.step;
  loader.metadata["best_accuracy"] = c.best_accuracy;
  loader.metadata["options"] = c.options;
  loader.add_tensor(TensorRecord::from_u64s("state", {static_cast<int64_t>(c.loader_state.size())},
                                            c.loader_state.data()));

  Section& rng = file.add_section("rng");
  std::vector<uint64_t> calls;
  for (Dropout* d : dropout_layers(model)) calls.push_back(d->calls);
  rng.add_tensor(TensorRecord::from_u64s("dropout_calls", {static_cast<int64_t>(calls.size())}, calls.data()));
}

void put_model_metadata(ModelFile& file, Sequential& model, const ModelInfo& info) {
  file.metadata["model.name"] = info.name;
  file.metadata["model.version"] = info.version;
  file.metadata["model.architecture"] = model.spec();
  file.metadata["input.shape"] = info.input_shape;
  file.metadata["input.scale"] = info.input_scale;
  file.metadata["input.mean"] = info.input_mean;
  file.metadata["input.std"] = info.input_std;
  file.metadata["labels"] = info.labels;
  file.metadata["train.dataset"] = info.dataset;
  file.metadata["train.epochs"] = info.epochs;
  file.metadata["train.seed"] = info.seed;
  file.metadata["train.test_accuracy"] = info.test_accuracy;
  if (!info.origin.format.empty()) {
    file.metadata["origin.format"] = info.origin.format;
    file.metadata["origin.file"] = info.origin.file;
    file.metadata["origin.producer"] = info.origin.producer;
    file.metadata["origin.opset"] = info.origin.opset;
  }
  file.metadata["gradcore.version"] = std::string(kGradcoreVersion);
  file.metadata["created"] = utc_now();
}

void save_model(const std::filesystem::path& path, Sequential& model, const ModelInfo& info,
                const TrainingCheckpoint* checkpoint) {
  ModelFile file;
  put_model_metadata(file, model, info);
  for (const ParamRef& p : model.parameters()) file.add_tensor(to_record(p.name, *p.tensor));
  if (checkpoint) add_checkpoint(file, model, *checkpoint);
  serialize::write_model_file(path, file);
}

static TrainingCheckpoint read_checkpoint(const ModelFile& file, Sequential& model, const std::string& source) {
  TrainingCheckpoint c;
  const Section& opt = file.section("optimizer");
  c.optimizer.kind = opt.get_string("kind");
  c.optimizer.step = opt.get_int("step");
  for (const TensorRecord& r : opt.tensors) c.optimizer.buffers.push_back({r.name, from_record(r)});

  const Section& loader = file.section("loader");
  c.epoch = loader.get_int("epoch");
  c.step = loader.get_int("step");
  c.best_accuracy = loader.get_float("best_accuracy");
  c.options = loader.get_string("options");
  auto words = loader.tensor("state").u64s();
  c.loader_state.assign(words.begin(), words.end());

  auto calls = file.section("rng").tensor("dropout_calls").u64s();
  auto dropouts = dropout_layers(model);
  if (calls.size() != dropouts.size())
    throw FormatError(source + ": section 'rng': " + std::to_string(calls.size()) + " dropout counters for " +
                      std::to_string(dropouts.size()) + " dropout layers");
  for (size_t i = 0; i < calls.size(); ++i) dropouts[i]->calls = calls[i];
  c.dropout_calls.assign(calls.begin(), calls.end());
  return c;
}

LoadedModel load_model(const std::filesystem::path& path, const serialize::TrustedKeys* trusted) {
  serialize::CheckedModelFile checked = serialize::read_checked_model_file(path, trusted);
  LoadedModel loaded = model_from_file(checked.file, path.string());
  loaded.origin = {checked.file_crc32c, checked.signer};
  return loaded;
}

static LoadedModel model_from_checked_metadata(const ModelFile& file, const std::string& source) {
  LoadedModel loaded;
  ModelInfo& info = loaded.info;
  info.name = file.get_string("model.name");
  info.version = file.get_int("model.version");
  info.input_shape = file.get_ints("input.shape");
  info.input_scale = file.get_float("input.scale");
  info.input_mean = file.get_float("input.mean");
  info.input_std = file.get_float("input.std");
  info.labels = file.get_strings("labels");
  if (file.has("train.dataset")) info.dataset = file.get_string("train.dataset");
  if (file.has("train.epochs")) info.epochs = file.get_int("train.epochs");
  if (file.has("train.seed")) info.seed = file.get_int("train.seed");
  if (file.has("train.test_accuracy")) info.test_accuracy = file.get_float("train.test_accuracy");
  if (file.has("origin.format")) {
    info.origin.format = file.get_string("origin.format");
    info.origin.file = file.get_string("origin.file");
    info.origin.producer = file.get_string("origin.producer");
    info.origin.opset = file.get_int("origin.opset");
  }

  const std::string& spec = file.get_string("model.architecture");
  try {
    loaded.model = build_model(spec);
  } catch (const std::invalid_argument& e) {
    throw FormatError(source + ": metadata 'model.architecture': " + e.what());
  }
  const std::string precision = file.has("model.precision") ? file.get_string("model.precision") : "fp32";
  if (precision != "fp32" && precision != "int8")
    throw FormatError(source + ": metadata 'model.precision' is '" + precision + "', expected fp32 or int8");
  std::set<std::string> expected;
  for (const ParamRef& p : loaded.model->parameters()) {
    expected.insert(p.name);
    const TensorRecord* r = file.find_tensor(p.name);
    if (!r) throw FormatError(source + ": tensor '" + p.name + "' is missing (architecture '" + spec + "' needs it)");
    // An int8 layer's integers are read and checked by read_quantization.
    if (precision == "int8" && (r->dtype == serialize::DType::I8 || r->dtype == serialize::DType::I32)) continue;
    if (r->dtype != serialize::DType::F32)
      throw FormatError(source + ": tensor '" + p.name + "': dtype " + serialize::dtype_name(r->dtype) + ", expected f32");
    if (r->shape != p.tensor->shape().to_vector())
      throw FormatError(source + ": tensor '" + p.name + "': shape " + Shape(r->shape).str() + ", architecture needs " +
                        p.tensor->shape().str());
    *p.tensor = from_record(*r);
    p.tensor->requires_grad_();
  }
  for (const TensorRecord& r : file.tensors)
    if (!expected.contains(r.name))
      throw FormatError(source + ": tensor '" + r.name + "' is not a parameter of architecture '" + spec + "'");
  if (precision == "int8")
    loaded.quantization = std::make_shared<const QuantizationInfo>(read_quantization(file, *loaded.model));
  if (info.labels.empty()) throw FormatError(source + ": metadata 'labels': empty");
  Shape output;
  try {
    output = check_model_input(*loaded.model, info.input_shape);
  } catch (const std::invalid_argument& e) {
    throw FormatError(source + ": metadata 'input.shape': " + e.what());
  }
  if (output != Shape{1, static_cast<int64_t>(info.labels.size())})
    throw FormatError(source + ": metadata 'labels': " + std::to_string(info.labels.size()) +
                      " labels but the network outputs " + output.str() + " per image");
  if (file.find_section("optimizer")) loaded.checkpoint = read_checkpoint(file, *loaded.model, source);
  return loaded;
}

LoadedModel model_from_file(const ModelFile& file, const std::string& source) {
  try {
    return model_from_checked_metadata(file, source);
  } catch (const FormatError& e) {
    // The metadata getters do not know the file; every load error names it.
    const std::string what = e.what();
    if (what.rfind(source + ":", 0) == 0) throw;
    throw FormatError(source + ": " + what);
  }
}

}  // namespace gc
