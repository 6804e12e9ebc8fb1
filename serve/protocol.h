// The wire format of docs/PROTOCOL.md: frame headers, request and response
// payloads, encoders and decoders. Pure functions over bytes, shared by the
// server, the clients and the fuzzer; nothing here touches a socket.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gc::serve::protocol {

inline constexpr uint32_t kMagic = 0x56534347;  // the bytes "GCSV"
inline constexpr uint16_t kVersion = 1;
inline constexpr size_t kHeaderSize = 20;
inline constexpr uint16_t kResponseBit = 0x8000;
inline constexpr uint16_t kFramingErrorType = 0xFFFF;
inline constexpr size_t kPredictHeaderSize = 12;
inline constexpr size_t kReloadHeaderSize = 8;
inline constexpr size_t kMaxMessageLength = 255;

enum class MessageType : uint16_t { predict = 1, info = 2, health = 3, stats = 4, reload = 5 };
inline constexpr int kMessageTypeCount = 5;
const char* message_type_name(uint16_t type);  // "predict", ..., or "unknown"

enum class Status : uint16_t {
  ok = 0,
  bad_magic = 1,
  unsupported_version = 2,
  frame_too_large = 3,
  unknown_type = 4,
  malformed = 5,
  wrong_image_count = 6,
  wrong_image_size = 7,
  not_authorised = 8,
  overloaded = 9,
  reload_failed = 10,
  internal = 11,
};
inline constexpr int kStatusCount = 12;
const char* status_name(Status status);  // "BAD_MAGIC", ...
bool is_framing_error(Status status);    // the connection is closed after it

enum class PixelFormat : uint8_t { uint8 = 1, float32 = 2 };
inline constexpr uint8_t kWantLogits = 1;

enum class HealthState : uint8_t { serving = 1, draining = 2 };
enum class ReloadAction : uint8_t { load_path = 1, roll_back = 2 };

struct FrameHeader {
  uint16_t type = 0;
  uint64_t request_id = 0;
  uint32_t payload_length = 0;
};

// The outcome of looking at the bytes received so far on a connection.
struct HeaderParse {
  enum class State { need_more, complete, framing_error } state = State::need_more;
  FrameHeader header;
  Status error = Status::ok;  // for framing_error
  std::string message;        // for framing_error
};

// Looks at the start of `bytes`. Reports a bad magic as soon as the first
// bytes differ from it, so garbage is refused without waiting for 20 bytes;
// a framing error found in a complete header carries its request id.
HeaderParse parse_header(std::span<const uint8_t> bytes, uint32_t max_payload);

// ---- little-endian building blocks -----------------------------------------

class ByteWriter {
 public:
  explicit ByteWriter(std::vector<uint8_t>& out) : out_(out) {}
  void u8(uint8_t v) { out_.push_back(v); }
  void u16(uint16_t v) { put(v, 2); }
  void u32(uint32_t v) { put(v, 4); }
  void u64(uint64_t v) { put(v, 8); }
  void i64(int64_t v) { put(static_cast<uint64_t>(v), 8); }
  void f32(float v);
  void bytes(std::span<const uint8_t> data) { out_.insert(out_.end(), data.begin(), data.end()); }
  void text(std::string_view s) { out_.insert(out_.end(), s.begin(), s.end()); }

 private:
  void put(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  std::vector<uint8_t>& out_;
};

// Reads fields in order; a read past the end sets failed() and returns 0.
class ByteReader {
 public:
  explicit ByteReader(std::span<const uint8_t> data) : data_(data) {}
  uint8_t u8() { return static_cast<uint8_t>(get(1)); }
  uint16_t u16() { return static_cast<uint16_t>(get(2)); }
  uint32_t u32() { return static_cast<uint32_t>(get(4)); }
  uint64_t u64() { return get(8); }
  int64_t i64() { return static_cast<int64_t>(get(8)); }
  float f32();
  std::span<const uint8_t> bytes(size_t n);
  size_t remaining() const { return failed_ ? 0 : data_.size() - pos_; }
  bool failed() const { return failed_; }

 private:
  uint64_t get(int n);
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
  bool failed_ = false;
};

// A frame is written in place: begin_frame appends a header with a zero
// length, the payload is appended after it, end_frame patches the length.
size_t begin_frame(std::vector<uint8_t>& out, uint16_t type, uint64_t request_id);
void end_frame(std::vector<uint8_t>& out, size_t frame_start);

// Appends a complete error frame (status + one-line message).
void append_error(std::vector<uint8_t>& out, uint16_t type, uint64_t request_id, Status status,
                  std::string_view message);

// ---- requests ---------------------------------------------------------------

struct PredictRequest {
  PixelFormat format = PixelFormat::uint8;
  bool want_logits = false;
  int count = 0;
  std::array<int, 3> shape{};      // channels, height, width
  std::span<const uint8_t> pixels;  // count × shape × element size bytes
};

// A decoded request, or the status and message to answer it with.
template <typename T>
struct Decoded {
  std::optional<T> value;
  Status error = Status::ok;
  std::string message;
};

// Checks the payload against itself: known format and flags, count ≥ 1, the
// pixel byte count, finite floats. Shape and count limits are the server's.
Decoded<PredictRequest> decode_predict(std::span<const uint8_t> payload);

void append_predict_request(std::vector<uint8_t>& out, uint64_t request_id, PixelFormat format,
                            bool want_logits, int count, std::array<int, 3> shape,
                            std::span<const uint8_t> pixels);

struct ReloadRequest {
  ReloadAction action = ReloadAction::roll_back;
  std::string token;
  std::string path;
};
Decoded<ReloadRequest> decode_reload(std::span<const uint8_t> payload);
void append_reload_request(std::vector<uint8_t>& out, uint64_t request_id, const ReloadRequest& request);

void append_empty_request(std::vector<uint8_t>& out, MessageType type, uint64_t request_id);

// ---- responses --------------------------------------------------------------

// Fields every decoded response has. status != ok means only message is set.
struct ResponseBase {
  Status status = Status::ok;
  std::string message;
};

struct Prediction {
  int predicted_class = 0;
  std::vector<float> probabilities;
  std::vector<float> logits;  // empty unless asked for
};
struct PredictResponse : ResponseBase {
  int64_t model_version = 0;
  std::vector<Prediction> predictions;
};
struct JsonResponse : ResponseBase {
  std::string json;
};
struct HealthResponse : ResponseBase {
  HealthState state = HealthState::serving;
  int64_t model_version = 0;
};
struct ReloadResponse : ResponseBase {
  int64_t model_version = 0;
  int64_t previous_version = -1;
};

// Decoders return nullopt when the payload is not a well-formed response.
std::optional<PredictResponse> decode_predict_response(std::span<const uint8_t> payload);
std::optional<JsonResponse> decode_json_response(std::span<const uint8_t> payload);
std::optional<HealthResponse> decode_health_response(std::span<const uint8_t> payload);
std::optional<ReloadResponse> decode_reload_response(std::span<const uint8_t> payload);

// Encoders used by the server for OK responses. The predict response is
// written by the caller in two steps: the fixed part, then each image.
void append_predict_response_start(std::vector<uint8_t>& out, bool with_logits, int count, int classes,
                                   int64_t model_version);
void append_json_response(std::vector<uint8_t>& out, MessageType type, uint64_t request_id,
                          std::string_view json);
void append_health_response(std::vector<uint8_t>& out, uint64_t request_id, HealthState state,
                            int64_t model_version);
void append_reload_response(std::vector<uint8_t>& out, uint64_t request_id, int64_t model_version,
                            int64_t previous_version);

}  // namespace gc::serve::protocol
