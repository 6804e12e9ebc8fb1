#include "serve/protocol.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

namespace gc::serve::protocol {

const char* message_type_name(uint16_t type) {
  switch (type) {
    case 1: return "predict";
    case 2: return "info";
    case 3: return "health";
    case 4: return "stats";
    case 5: return "reload";
    default: return "unknown";
  }
}

const char* status_name(Status status) {
  switch (status) {
    case Status::ok: return "OK";
    case Status::bad_magic: return "BAD_MAGIC";
    case Status::unsupported_version: return "UNSUPPORTED_VERSION";
    case Status::frame_too_large: return "FRAME_TOO_LARGE";
    case Status::unknown_type: return "UNKNOWN_TYPE";
    case Status::malformed: return "MALFORMED";
    case Status::wrong_image_count: return "WRONG_IMAGE_COUNT";
    case Status::wrong_image_size: return "WRONG_IMAGE_SIZE";
    case Status::not_authorised: return "NOT_AUTHORISED";
    case Status::overloaded: return "OVERLOADED";
    case Status::reload_failed: return "RELOAD_FAILED";
    case Status::internal: return "INTERNAL";
  }
  return "UNKNOWN_STATUS";
}

bool is_framing_error(Status status) {
  return status == Status::bad_magic || status == Status::unsupported_version ||
         status == Status::frame_too_large;
}

HeaderParse parse_header(std::span<const uint8_t> bytes, uint32_t max_payload) {
  HeaderParse result;
  auto fail = [&](Status status, std::string message) {
    result.state = HeaderParse::State::framing_error;
    result.error = status;
    result.message = std::move(message);
    return result;
  };
  const uint8_t magic[4] = {'G', 'C', 'S', 'V'};
  size_t magic_seen = std::min<size_t>(bytes.size(), 4);
  bool magic_ok = std::memcmp(bytes.data(), magic, magic_seen) == 0;
  if (bytes.size() < kHeaderSize) {
    if (!magic_ok) return fail(Status::bad_magic, "bad magic, expected GCSV");
    return result;
  }

  ByteReader reader(bytes.first(kHeaderSize));
  reader.u32();
  uint16_t version = reader.u16();
  result.header.type = reader.u16();
  result.header.request_id = reader.u64();
  result.header.payload_length = reader.u32();
  if (!magic_ok) return fail(Status::bad_magic, "bad magic, expected GCSV");
  if (version != kVersion)
    return fail(Status::unsupported_version, "unsupported protocol version " + std::to_string(version) +
                                                 ", this server speaks 1");
  if (result.header.payload_length > max_payload)
    return fail(Status::frame_too_large, "payload of " + std::to_string(result.header.payload_length) +
                                             " bytes is over the limit of " + std::to_string(max_payload));
  result.state = HeaderParse::State::complete;
  return result;
}

void ByteWriter::f32(float v) { u32(std::bit_cast<uint32_t>(v)); }

float ByteReader::f32() { return std::bit_cast<float>(u32()); }

uint64_t ByteReader::get(int n) {
  if (failed_ || data_.size() - pos_ < static_cast<size_t>(n)) {
    failed_ = true;
    return 0;
  }
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= static_cast<uint64_t>(data_[pos_ + i]) << (8 * i);
  pos_ += n;
  return v;
}

std::span<const uint8_t> ByteReader::bytes(size_t n) {
  if (failed_ || data_.size() - pos_ < n) {
    failed_ = true;
    return {};
  }
  auto view = data_.subspan(pos_, n);
  pos_ += n;
  return view;
}

size_t begin_frame(std::vector<uint8_t>& out, uint16_t type, uint64_t request_id) {
  size_t start = out.size();
  ByteWriter w(out);
  w.u32(kMagic);
  w.u16(kVersion);
  w.u16(type);
  w.u64(request_id);
  w.u32(0);
  return start;
}

void end_frame(std::vector<uint8_t>& out, size_t frame_start) {
  auto length = static_cast<uint32_t>(out.size() - frame_start - kHeaderSize);
  for (int i = 0; i < 4; ++i) out[frame_start + 16 + i] = static_cast<uint8_t>(length >> (8 * i));
}

void append_error(std::vector<uint8_t>& out, uint16_t type, uint64_t request_id, Status status,
                  std::string_view message) {
  message = message.substr(0, kMaxMessageLength);
  size_t start = begin_frame(out, type, request_id);
  ByteWriter w(out);
  w.u16(static_cast<uint16_t>(status));
  w.u16(static_cast<uint16_t>(message.size()));
  w.text(message);
  end_frame(out, start);
}

// ---- requests ---------------------------------------------------------------

namespace {
template <typename T>
Decoded<T> refuse(Status status, std::string message) {
  Decoded<T> d;
  d.error = status;
  d.message = std::move(message);
  return d;
}
}  // namespace

Decoded<PredictRequest> decode_predict(std::span<const uint8_t> payload) {
  if (payload.size() < kPredictHeaderSize)
    return refuse<PredictRequest>(Status::malformed, "predict payload shorter than its 12-byte header");
  ByteReader r(payload);
  uint8_t format = r.u8();
  uint8_t flags = r.u8();
  PredictRequest req;
  req.count = r.u16();
  for (int& dim : req.shape) dim = r.u16();
  uint16_t reserved = r.u16();
  if (format != 1 && format != 2)
    return refuse<PredictRequest>(Status::malformed, "unknown pixel format " + std::to_string(format));
  if ((flags & ~kWantLogits) != 0 || reserved != 0)
    return refuse<PredictRequest>(Status::malformed, "unknown flags or nonzero reserved field");
  if (req.count == 0) return refuse<PredictRequest>(Status::wrong_image_count, "predict needs at least one image");
  req.format = static_cast<PixelFormat>(format);
  req.want_logits = flags & kWantLogits;
  size_t element = req.format == PixelFormat::uint8 ? 1 : 4;
  size_t expected = static_cast<size_t>(req.count) * req.shape[0] * req.shape[1] * req.shape[2] * element;
  if (r.remaining() != expected)
    return refuse<PredictRequest>(Status::wrong_image_size,
                                  "pixel data is " + std::to_string(r.remaining()) + " bytes, count x shape needs " +
                                      std::to_string(expected));
  req.pixels = r.bytes(expected);
  if (req.format == PixelFormat::float32) {
    ByteReader floats(req.pixels);
    for (size_t i = 0; i < expected / 4; ++i)
      if (!std::isfinite(floats.f32()))
        return refuse<PredictRequest>(Status::malformed, "float32 pixel that is not finite");
  }
  Decoded<PredictRequest> d;
  d.value = req;
  return d;
}

void append_predict_request(std::vector<uint8_t>& out, uint64_t request_id, PixelFormat format,
                            bool want_logits, int count, std::array<int, 3> shape,
                            std::span<const uint8_t> pixels) {
  size_t start = begin_frame(out, static_cast<uint16_t>(MessageType::predict), request_id);
  ByteWriter w(out);
  w.u8(static_cast<uint8_t>(format));
  w.u8(want_logits ? kWantLogits : 0);
  w.u16(static_cast<uint16_t>(count));
  for (int dim : shape) w.u16(static_cast<uint16_t>(dim));
  w.u16(0);
  w.bytes(pixels);
  end_frame(out, start);
}

Decoded<ReloadRequest> decode_reload(std::span<const uint8_t> payload) {
  ByteReader r(payload);
  uint8_t action = r.u8();
  uint8_t reserved_a = r.u8();
  uint16_t token_length = r.u16();
  uint16_t path_length = r.u16();
  uint16_t reserved_b = r.u16();
  if (r.failed()) return refuse<ReloadRequest>(Status::malformed, "reload payload shorter than its 8-byte header");
  if (reserved_a != 0 || reserved_b != 0) return refuse<ReloadRequest>(Status::malformed, "nonzero reserved field");
  if (r.remaining() != static_cast<size_t>(token_length) + path_length)
    return refuse<ReloadRequest>(Status::malformed, "reload payload length differs from token + path lengths");
  ReloadRequest req;
  if (action == static_cast<uint8_t>(ReloadAction::load_path)) {
    if (path_length == 0) return refuse<ReloadRequest>(Status::malformed, "reload of a path needs a path");
  } else if (action == static_cast<uint8_t>(ReloadAction::roll_back)) {
    if (path_length != 0) return refuse<ReloadRequest>(Status::malformed, "roll back takes no path");
  } else {
    return refuse<ReloadRequest>(Status::malformed, "unknown reload action " + std::to_string(action));
  }
  req.action = static_cast<ReloadAction>(action);
  auto token = r.bytes(token_length);
  auto path = r.bytes(path_length);
  req.token.assign(token.begin(), token.end());
  req.path.assign(path.begin(), path.end());
  if (req.path.find('\0') != std::string::npos) return refuse<ReloadRequest>(Status::malformed, "path contains NUL");
  Decoded<ReloadRequest> d;
  d.value = std::move(req);
  return d;
}

void append_reload_request(std::vector<uint8_t>& out, uint64_t request_id, const ReloadRequest& request) {
  size_t start = begin_frame(out, static_cast<uint16_t>(MessageType::reload), request_id);
  ByteWriter w(out);
  w.u8(static_cast<uint8_t>(request.action));
  w.u8(0);
  w.u16(static_cast<uint16_t>(request.token.size()));
  w.u16(static_cast<uint16_t>(request.path.size()));
  w.u16(0);
  w.text(request.token);
  w.text(request.path);
  end_frame(out, start);
}

void append_empty_request(std::vector<uint8_t>& out, MessageType type, uint64_t request_id) {
  size_t start = begin_frame(out, static_cast<uint16_t>(type), request_id);
  end_frame(out, start);
}

// ---- responses --------------------------------------------------------------

namespace {
// Reads the status; for an error reads the message and reports it complete.
// Returns false when the payload is not a well-formed response.
bool read_status(ByteReader& r, ResponseBase& base, bool& is_error) {
  uint16_t status = r.u16();
  if (r.failed() || status >= kStatusCount) return false;
  base.status = static_cast<Status>(status);
  is_error = base.status != Status::ok;
  if (!is_error) return true;
  uint16_t length = r.u16();
  auto text = r.bytes(length);
  if (r.failed() || r.remaining() != 0) return false;
  base.message.assign(text.begin(), text.end());
  return true;
}
}  // namespace

std::optional<PredictResponse> decode_predict_response(std::span<const uint8_t> payload) {
  ByteReader r(payload);
  PredictResponse resp;
  bool is_error = false;
  if (!read_status(r, resp, is_error)) return std::nullopt;
  if (is_error) return resp;
  bool with_logits = r.u8() & kWantLogits;
  r.u8();
  int count = r.u16();
  int classes = r.u16();
  resp.model_version = r.i64();
  if (r.failed()) return std::nullopt;
  size_t per_image = 4 + static_cast<size_t>(classes) * 4 * (with_logits ? 2 : 1);
  if (r.remaining() != per_image * count) return std::nullopt;
  resp.predictions.resize(count);
  for (auto& p : resp.predictions) {
    p.predicted_class = static_cast<int>(r.u32());
    p.probabilities.resize(classes);
    for (float& v : p.probabilities) v = r.f32();
    if (with_logits) {
      p.logits.resize(classes);
      for (float& v : p.logits) v = r.f32();
    }
  }
  return resp;
}

std::optional<JsonResponse> decode_json_response(std::span<const uint8_t> payload) {
  ByteReader r(payload);
  JsonResponse resp;
  bool is_error = false;
  if (!read_status(r, resp, is_error)) return std::nullopt;
  if (is_error) return resp;
  r.u16();
  uint32_t length = r.u32();
  auto text = r.bytes(length);
  if (r.failed() || r.remaining() != 0) return std::nullopt;
  resp.json.assign(text.begin(), text.end());
  return resp;
}

std::optional<HealthResponse> decode_health_response(std::span<const uint8_t> payload) {
  ByteReader r(payload);
  HealthResponse resp;
  bool is_error = false;
  if (!read_status(r, resp, is_error)) return std::nullopt;
  if (is_error) return resp;
  uint8_t state = r.u8();
  r.u8();
  r.u32();
  resp.model_version = r.i64();
  if (r.failed() || r.remaining() != 0 || (state != 1 && state != 2)) return std::nullopt;
  resp.state = static_cast<HealthState>(state);
  return resp;
}

std::optional<ReloadResponse> decode_reload_response(std::span<const uint8_t> payload) {
  ByteReader r(payload);
  ReloadResponse resp;
  bool is_error = false;
  if (!read_status(r, resp, is_error)) return std::nullopt;
  if (is_error) return resp;
  r.u16();
  r.u32();
  resp.model_version = r.i64();
  resp.previous_version = r.i64();
  if (r.failed() || r.remaining() != 0) return std::nullopt;
  return resp;
}

void append_predict_response_start(std::vector<uint8_t>& out, bool with_logits, int count, int classes,
                                   int64_t model_version) {
  ByteWriter w(out);
  w.u16(static_cast<uint16_t>(Status::ok));
  w.u8(with_logits ? kWantLogits : 0);
  w.u8(0);
  w.u16(static_cast<uint16_t>(count));
  w.u16(static_cast<uint16_t>(classes));
  w.i64(model_version);
}

void append_json_response(std::vector<uint8_t>& out, MessageType type, uint64_t request_id,
                          std::string_view json) {
  size_t start = begin_frame(out, static_cast<uint16_t>(type) | kResponseBit, request_id);
  ByteWriter w(out);
  w.u16(static_cast<uint16_t>(Status::ok));
  w.u16(0);
  w.u32(static_cast<uint32_t>(json.size()));
  w.text(json);
  end_frame(out, start);
}

void append_health_response(std::vector<uint8_t>& out, uint64_t request_id, HealthState state,
                            int64_t model_version) {
  size_t start = begin_frame(out, static_cast<uint16_t>(MessageType::health) | kResponseBit, request_id);
  ByteWriter w(out);
  w.u16(static_cast<uint16_t>(Status::ok));
  w.u8(static_cast<uint8_t>(state));
  w.u8(0);
  w.u32(0);
  w.i64(model_version);
  end_frame(out, start);
}

void append_reload_response(std::vector<uint8_t>& out, uint64_t request_id, int64_t model_version,
                            int64_t previous_version) {
  size_t start = begin_frame(out, static_cast<uint16_t>(MessageType::reload) | kResponseBit, request_id);
  ByteWriter w(out);
  w.u16(static_cast<uint16_t>(Status::ok));
  w.u16(0);
  w.u32(0);
  w.i64(model_version);
  w.i64(previous_version);
  end_frame(out, start);
}

}  // namespace gc::serve::protocol
