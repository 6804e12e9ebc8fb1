#include "serve/http_infer.h"

#include "serve/http_response.h"

#include <simdjson.h>

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>

namespace gc::serve {

static_assert(std::endian::native == std::endian::little, "tensor bytes are copied as they are");

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

struct Failure {
  std::string message;
};

// The images of one input tensor: how many, and what each is.
struct InputShape {
  int count = 0;
  int height = 0, width = 0;  // the picture's size, for "preprocess"
};

std::string shape_text(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + std::to_string(dims[i]);
  return s + "]";
}

// Accepts [N,C,H,W], [N,H,W] (one channel) or [N,C*H*W] for the model's
// C, H, W; with preprocess, [N,H,W] or [N,1,H,W] of any picture size.
std::optional<Failure> check_shape(const std::vector<int64_t>& dims, const InferInputSpec& spec, bool preprocess,
                                   InputShape& out) {
  const auto [c, h, w] = spec.shape;
  if (dims.empty() || dims[0] < 1 || dims[0] > spec.max_batch)
    return Failure{"shape " + shape_text(dims) + ": the first dimension is the image count, 1.." +
                   std::to_string(spec.max_batch)};
  out.count = static_cast<int>(dims[0]);
  if (preprocess) {
    bool picture = (dims.size() == 3) || (dims.size() == 4 && dims[1] == 1);
    int64_t ph = dims[dims.size() - 2], pw = dims[dims.size() - 1];
    if (!picture || ph < 1 || pw < 1 || ph > kMaxPreprocessSide || pw > kMaxPreprocessSide)
      return Failure{"shape " + shape_text(dims) + ": with preprocess, [N,H,W] or [N,1,H,W] with H and W 1.." +
                     std::to_string(kMaxPreprocessSide)};
    out.height = static_cast<int>(ph), out.width = static_cast<int>(pw);
    return std::nullopt;
  }
  std::vector<int64_t> rest(dims.begin() + 1, dims.end());
  bool ok = rest == std::vector<int64_t>{c, h, w} || (c == 1 && rest == std::vector<int64_t>{h, w}) ||
            rest == std::vector<int64_t>{int64_t{c} * h * w};
  if (!ok)
    return Failure{"shape " + shape_text(dims) + ": the model takes [N," + std::to_string(c) + "," + std::to_string(h) +
                   "," + std::to_string(w) + "]" +
                   (c == 1 ? ", [N," + std::to_string(h) + "," + std::to_string(w) + "]" : "") + " or [N," +
                   std::to_string(c * h * w) + "]"};
  out.height = h, out.width = w;
  return std::nullopt;
}

// Appends the numbers of `data` (nested arrays flattened, row-major) as
// uint8 bytes or float32 values; stops at the first bad one.
std::optional<Failure> append_numbers(element data, protocol::PixelFormat format, const InferInputSpec& spec,
                                      size_t expected, std::vector<uint8_t>& out) {
  if (simdjson::dom::array items; !data.get(items)) {
    for (element item : items)
      if (auto f = append_numbers(item, format, spec, expected, out)) return f;
    return std::nullopt;
  }
  size_t element_bytes = format == protocol::PixelFormat::uint8 ? 1 : 4;
  size_t index = out.size() / element_bytes;
  if (index >= expected)
    return Failure{"data has more than the " + std::to_string(expected) + " values the shape needs"};
  if (format == protocol::PixelFormat::uint8) {
    int64_t v = 0;
    if (data.get_int64().get(v) || v < 0 || v > 255)
      return Failure{"UINT8 data value " + std::to_string(index) + " is " + simdjson::minify(data) +
                     ", not an integer 0..255"};
    out.push_back(static_cast<uint8_t>(v));
    return std::nullopt;
  }
  double v = 0;
  if (data.get_double().get(v))
    return Failure{"FP32 data value " + std::to_string(index) + " is " + simdjson::minify(data) + ", not a number"};
  float f = static_cast<float>(v);
  if (!std::isfinite(f) || !(f >= spec.fp32_low && f <= spec.fp32_high))
    return Failure{"FP32 data value " + std::to_string(index) + " is " + simdjson::minify(data) +
                   ", outside the normalised range [" + std::to_string(spec.fp32_low) + ", " +
                   std::to_string(spec.fp32_high) + "] (model metadata)"};
  size_t at = out.size();
  out.resize(at + 4);
  std::memcpy(out.data() + at, &f, 4);
  return std::nullopt;
}

std::optional<Failure> check_fp32_bytes(const std::vector<uint8_t>& bytes, const InferInputSpec& spec) {
  for (size_t i = 0; i < bytes.size() / 4; ++i) {
    float f;
    std::memcpy(&f, bytes.data() + 4 * i, 4);
    if (!std::isfinite(f) || !(f >= spec.fp32_low && f <= spec.fp32_high))
      return Failure{"FP32 binary value " + std::to_string(i) + " is " + std::to_string(f) +
                     ", outside the normalised range (model metadata)"};
  }
  return std::nullopt;
}

std::optional<Failure> read_outputs(element outputs, bool binary_default, HttpInferAsk& ask) {
  simdjson::dom::array list;
  if (outputs.get(list)) return Failure{"\"outputs\" must be an array"};
  ask.probabilities = ask.classes = ask.logits = false;
  for (element o : list) {
    std::string_view name;
    if (o["name"].get(name)) return Failure{"every entry of \"outputs\" needs a string \"name\""};
    bool binary = binary_default;
    if (element p; !o["parameters"].get(p)) {
      bool b;
      if (!p["binary_data"].get(b)) binary = b;
    }
    if (name == "probabilities") ask.probabilities = true, ask.binary_probabilities = binary;
    else if (name == "class") ask.classes = true, ask.binary_classes = binary;
    else if (name == "logits") ask.logits = true, ask.binary_logits = binary;
    else return Failure{"unknown output \"" + std::string(name) + "\": the model has probabilities, class and logits"};
  }
  return std::nullopt;
}

std::optional<Failure> decode(std::string_view body, std::optional<size_t> json_bytes, const InferInputSpec& spec,
                              DecodedInfer& out) {
  size_t json_length = json_bytes.value_or(body.size());
  if (json_length > body.size())
    return Failure{"Inference-Header-Content-Length " + std::to_string(json_length) + " exceeds the body of " +
                   std::to_string(body.size()) + " bytes"};
  std::string_view binary = body.substr(json_length);
  thread_local simdjson::dom::parser parser;
  element root;
  if (auto error = parser.parse(body.data(), json_length).get(root))
    return Failure{std::string("bad JSON: ") + simdjson::error_message(error)};
  if (root.type() != element_type::OBJECT) return Failure{"the request must be a JSON object"};

  HttpInferAsk& ask = out.ask;
  if (element id; !root["id"].get(id)) {
    std::string_view text;
    if (id.get(text)) return Failure{"\"id\" must be a string"};
    ask.id = text, ask.has_id = true;
  }
  bool binary_output = false;
  if (element p; !root["parameters"].get(p)) {
    bool b;
    if (!p["binary_data_output"].get(b)) binary_output = b;
  }
  if (element outputs; !root["outputs"].get(outputs)) {
    if (auto f = read_outputs(outputs, binary_output, ask)) return f;
  } else {
    ask.binary_probabilities = ask.binary_classes = ask.binary_logits = binary_output;
  }

  simdjson::dom::array inputs;
  if (root["inputs"].get(inputs)) return Failure{"the request needs \"inputs\", an array"};
  if (inputs.size() != 1)
    return Failure{"\"inputs\" has " + std::to_string(inputs.size()) + " tensors; the model takes one"};
  element input = inputs.at(0).value_unsafe();
  std::string_view datatype;
  if (input["datatype"].get(datatype)) return Failure{"the input needs a string \"datatype\""};
  if (datatype == "UINT8") out.format = protocol::PixelFormat::uint8;
  else if (datatype == "FP32") out.format = protocol::PixelFormat::float32;
  else return Failure{"datatype " + std::string(datatype) + ": the model takes UINT8 or FP32"};

  bool preprocess = false;
  std::optional<uint64_t> binary_size;
  if (element p; !input["parameters"].get(p)) {
    if (element pre; !p["preprocess"].get(pre)) {
      std::string_view how;
      if (pre.get(how) || how != "mnist_style") return Failure{"\"preprocess\" can only be \"mnist_style\""};
      preprocess = true;
    }
    if (element size; !p["binary_data_size"].get(size)) {
      uint64_t n;
      if (size.get(n)) return Failure{"\"binary_data_size\" must be a non-negative integer"};
      binary_size = n;
    }
  }
  if (preprocess && out.format != protocol::PixelFormat::uint8) return Failure{"preprocess takes UINT8 pictures"};
  if (preprocess && !spec.preprocessor) return Failure{"this server does not preprocess pictures"};

  simdjson::dom::array shape_json;
  if (input["shape"].get(shape_json)) return Failure{"the input needs \"shape\", an array of integers"};
  std::vector<int64_t> dims;
  for (element d : shape_json) {
    int64_t v;
    if (d.get(v)) return Failure{"\"shape\" must hold integers"};
    dims.push_back(v);
  }
  InputShape shape;
  if (auto f = check_shape(dims, spec, preprocess, shape)) return f;
  const size_t element_bytes = out.format == protocol::PixelFormat::uint8 ? 1 : 4;
  const size_t values =
      static_cast<size_t>(shape.count) * shape.height * shape.width * (preprocess ? 1 : spec.shape[0]);

  std::vector<uint8_t> pixels;
  if (binary_size) {
    if (*binary_size != values * element_bytes)
      return Failure{"binary_data_size " + std::to_string(*binary_size) + ", the shape needs " +
                     std::to_string(values * element_bytes) + " bytes"};
    if (binary.size() != *binary_size)
      return Failure{"the body has " + std::to_string(binary.size()) +
                     " bytes after the JSON header, binary_data_size says " + std::to_string(*binary_size)};
    pixels.assign(binary.begin(), binary.end());
    if (out.format == protocol::PixelFormat::float32)
      if (auto f = check_fp32_bytes(pixels, spec)) return f;
  } else {
    if (!binary.empty()) return Failure{"bytes after the JSON header, but no input has binary_data_size"};
    element data;
    if (input["data"].get(data)) return Failure{"the input needs \"data\" (or binary_data_size)"};
    pixels.reserve(values * element_bytes);
    if (auto f = append_numbers(data, out.format, spec, values, pixels)) return f;
    if (pixels.size() != values * element_bytes)
      return Failure{"data has " + std::to_string(pixels.size() / element_bytes) + " values, the shape " +
                     shape_text(dims) + " needs " + std::to_string(values)};
  }

  out.count = shape.count;
  if (!preprocess) {
    out.pixels = std::move(pixels);
    return std::nullopt;
  }
  const size_t picture = static_cast<size_t>(shape.height) * shape.width;
  const size_t model_pixels = static_cast<size_t>(spec.shape[0]) * spec.shape[1] * spec.shape[2];
  for (int i = 0; i < shape.count; ++i) {
    std::vector<uint8_t> image;
    try {
      image = (*spec.preprocessor)(pixels.data() + i * picture, shape.width, shape.height);
    } catch (const std::exception& e) {
      return Failure{"picture " + std::to_string(i) + ": " + e.what()};
    }
    if (image.size() != model_pixels) return Failure{"the preprocessor does not fit this model"};
    out.pixels.insert(out.pixels.end(), image.begin(), image.end());
  }
  return std::nullopt;
}

void append_float(std::string& out, float v) {
  char text[32];
  auto end = std::to_chars(text, text + sizeof text, v).ptr;
  out.append(text, end);
}

}  // namespace

InferDecodeResult decode_infer_request(std::string_view body, std::optional<size_t> json_bytes,
                                       const InferInputSpec& spec) {
  DecodedInfer decoded;
  if (auto failure = decode(body, json_bytes, spec, decoded)) return {std::nullopt, 400, failure->message};
  return {std::move(decoded), 200, {}};
}

EncodedInfer encode_infer_response(const HttpInferAsk& ask, std::string_view model_name, int64_t version,
                                   const float* logits, int count, int classes) {
  const size_t n = static_cast<size_t>(count) * classes;
  std::vector<float> probabilities(n);
  std::vector<int64_t> best(count);
  for (int i = 0; i < count; ++i) {
    const float* row = logits + static_cast<size_t>(i) * classes;
    int top = 0;
    for (int k = 1; k < classes; ++k)
      if (row[k] > row[top]) top = k;
    double sum = 0;
    std::vector<double> e(classes);
    for (int k = 0; k < classes; ++k) sum += e[k] = std::exp(static_cast<double>(row[k]) - row[top]);
    for (int k = 0; k < classes; ++k)
      probabilities[static_cast<size_t>(i) * classes + k] = static_cast<float>(e[k] / sum);
    best[i] = top;
  }

  std::string json = "{\"model_name\":";
  append_json_string(json, model_name);
  json += ",\"model_version\":\"" + std::to_string(version) + "\"";
  if (ask.has_id) {
    json += ",\"id\":";
    append_json_string(json, ask.id);
  }
  json += ",\"outputs\":[";
  std::string raw;
  bool first = true;
  const std::string matrix_shape = "[" + std::to_string(count) + "," + std::to_string(classes) + "]";
  auto add_floats = [&](const char* name, const float* values, bool binary) {
    json += first ? "" : ",";
    first = false;
    json += std::string("{\"name\":\"") + name + "\",\"datatype\":\"FP32\",\"shape\":" + matrix_shape;
    if (binary) {
      json += ",\"parameters\":{\"binary_data_size\":" + std::to_string(n * 4) + "}}";
      raw.append(reinterpret_cast<const char*>(values), n * 4);
      return;
    }
    json += ",\"data\":[";
    for (size_t i = 0; i < n; ++i) {
      if (i) json.push_back(',');
      append_float(json, values[i]);
    }
    json += "]}";
  };
  if (ask.probabilities) add_floats("probabilities", probabilities.data(), ask.binary_probabilities);
  if (ask.classes) {
    json += first ? "" : ",";
    first = false;
    json += "{\"name\":\"class\",\"datatype\":\"INT64\",\"shape\":[" + std::to_string(count) + "]";
    if (ask.binary_classes) {
      json += ",\"parameters\":{\"binary_data_size\":" + std::to_string(best.size() * 8) + "}}";
      raw.append(reinterpret_cast<const char*>(best.data()), best.size() * 8);
    } else {
      json += ",\"data\":[";
      for (int i = 0; i < count; ++i) {
        if (i) json.push_back(',');
        json += std::to_string(best[i]);
      }
      json += "]}";
    }
  }
  if (ask.logits) add_floats("logits", logits, ask.binary_logits);
  json += "]}";
  EncodedInfer encoded;
  encoded.json_bytes = raw.empty() ? 0 : json.size();
  encoded.body = std::move(json);
  encoded.body += raw;
  return encoded;
}

}  // namespace gc::serve
