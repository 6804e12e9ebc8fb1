// The infer request and response bodies of the Open Inference Protocol
// (KServe v2), for the digit models gradcore serves: decoding a request into
// the pixels the batching queue takes, and encoding the answer. JSON and the
// binary tensor data extension (Inference-Header-Content-Length) both.
// Pure functions of their inputs; the routes are in http_routes.cpp.
#pragma once

#include "serve/model.h"
#include "serve/protocol.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gc::serve {

// What an infer request asks for besides its pixels; it travels with the
// request through the batching queue.
struct HttpInferAsk {
  std::string id;  // echoed when has_id
  bool has_id = false;
  bool probabilities = true, classes = true, logits = true;  // the outputs wanted (all when none named)
  bool binary_probabilities = false, binary_classes = false, binary_logits = false;
  int64_t pinned_version = -1;  // from /versions/{v}/infer; -1: the current model
};

// What the model being asked takes.
struct InferInputSpec {
  std::array<int, 3> shape{};  // channels, height, width
  int max_batch = 1;
  double fp32_low = 0, fp32_high = 0;             // the accepted FP32 values (the INFO float32_range)
  const ImagePreprocessor* preprocessor = nullptr;  // for "preprocess": "mnist_style"; null: refused
};

inline constexpr int kMaxPreprocessSide = 1024;  // pictures for "preprocess" up to this many pixels a side

struct DecodedInfer {
  HttpInferAsk ask;
  protocol::PixelFormat format = protocol::PixelFormat::uint8;
  int count = 0;
  std::vector<uint8_t> pixels;  // count images: bytes (uint8) or little-endian float32, as the queue holds them
};

struct InferDecodeResult {
  std::optional<DecodedInfer> value;
  int status = 400;  // without a value
  std::string message;
};

// `body` is the whole request body; `json_bytes` is Inference-Header-Content-Length
// when the request has it (the JSON part; raw tensor bytes follow), else nullopt.
InferDecodeResult decode_infer_request(std::string_view body, std::optional<size_t> json_bytes,
                                       const InferInputSpec& spec);

struct EncodedInfer {
  std::string body;
  size_t json_bytes = 0;  // 0: the body is all JSON; else its JSON part, raw output bytes after it
};

// `logits`: count × classes, finite.
EncodedInfer encode_infer_response(const HttpInferAsk& ask, std::string_view model_name, int64_t version,
                                   const float* logits, int count, int classes);

}  // namespace gc::serve
