// The wire format without sockets: header parsing, request and response
// round trips, and the refusals for payloads that contradict themselves.
#include "serve/protocol.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

using namespace gc::serve::protocol;

namespace {

std::vector<uint8_t> predict_frame(int count, PixelFormat format = PixelFormat::uint8, bool logits = false) {
  size_t bytes = static_cast<size_t>(count) * 784 * (format == PixelFormat::uint8 ? 1 : 4);
  std::vector<uint8_t> pixels(bytes, 0);
  std::vector<uint8_t> out;
  append_predict_request(out, 42, format, logits, count, {1, 28, 28}, pixels);
  return out;
}

std::span<const uint8_t> payload_of(const std::vector<uint8_t>& frame) {
  return std::span<const uint8_t>(frame).subspan(kHeaderSize);
}

}  // namespace

TEST(ServeProtocol, HeaderRoundTripAndIncrementalParse) {
  auto frame = predict_frame(2);
  for (size_t n = 0; n < kHeaderSize; ++n)
    EXPECT_EQ(parse_header(std::span(frame).first(n), 1 << 20).state, HeaderParse::State::need_more) << n;
  auto parsed = parse_header(frame, 1 << 20);
  ASSERT_EQ(parsed.state, HeaderParse::State::complete);
  EXPECT_EQ(parsed.header.type, 1);
  EXPECT_EQ(parsed.header.request_id, 42u);
  EXPECT_EQ(parsed.header.payload_length, frame.size() - kHeaderSize);
}

TEST(ServeProtocol, BadMagicIsSeenOnTheFirstByte) {
  const uint8_t garbage[] = {'X'};
  auto parsed = parse_header(garbage, 1 << 20);
  EXPECT_EQ(parsed.state, HeaderParse::State::framing_error);
  EXPECT_EQ(parsed.error, Status::bad_magic);
  EXPECT_TRUE(is_framing_error(parsed.error));
}

TEST(ServeProtocol, BadMagicInACompleteHeaderCarriesItsRequestId) {
  auto frame = predict_frame(1);
  frame[0] = 'X';
  auto parsed = parse_header(std::span(frame).first(kHeaderSize), 1 << 20);
  EXPECT_EQ(parsed.error, Status::bad_magic);
  EXPECT_EQ(parsed.header.request_id, 42u);
  EXPECT_EQ(parse_header(std::span(frame).first(4), 1 << 20).header.request_id, 0u);  // not known yet
}

TEST(ServeProtocol, WrongVersionAndOversizeAreFramingErrors) {
  auto frame = predict_frame(1);
  frame[4] = 2;
  EXPECT_EQ(parse_header(frame, 1 << 20).error, Status::unsupported_version);
  frame[4] = 1;
  auto parsed = parse_header(frame, 100);
  EXPECT_EQ(parsed.error, Status::frame_too_large);
  EXPECT_EQ(parsed.header.request_id, 42u);
}

TEST(ServeProtocol, PredictDecodeAcceptsWellFormedRequests) {
  auto frame = predict_frame(3, PixelFormat::float32, true);
  auto decoded = decode_predict(payload_of(frame));
  ASSERT_TRUE(decoded.value) << decoded.message;
  EXPECT_EQ(decoded.value->count, 3);
  EXPECT_TRUE(decoded.value->want_logits);
  EXPECT_EQ(decoded.value->pixels.size(), 3u * 784 * 4);
}

TEST(ServeProtocol, PredictDecodeRefusesContradictions) {
  EXPECT_EQ(decode_predict(payload_of(predict_frame(0))).error, Status::wrong_image_count);
  auto short_pixels = predict_frame(2);
  short_pixels.pop_back();
  EXPECT_EQ(decode_predict(payload_of(short_pixels)).error, Status::wrong_image_size);
  auto bad_format = predict_frame(1);
  bad_format[kHeaderSize] = 7;
  EXPECT_EQ(decode_predict(payload_of(bad_format)).error, Status::malformed);
  auto bad_flags = predict_frame(1);
  bad_flags[kHeaderSize + 1] = 0x80;
  EXPECT_EQ(decode_predict(payload_of(bad_flags)).error, Status::malformed);
  std::vector<uint8_t> tiny = {1, 0, 1};
  EXPECT_EQ(decode_predict(tiny).error, Status::malformed);
}

TEST(ServeProtocol, PredictDecodeRefusesNonFiniteFloats) {
  auto frame = predict_frame(1, PixelFormat::float32);
  float nan = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(frame.data() + kHeaderSize + kPredictHeaderSize + 400, &nan, 4);
  EXPECT_EQ(decode_predict(payload_of(frame)).error, Status::malformed);
}

TEST(ServeProtocol, ReloadRoundTripAndRefusals) {
  std::vector<uint8_t> frame;
  append_reload_request(frame, 7, {ReloadAction::load_path, "secret", "/tmp/m.gcm"});
  auto decoded = decode_reload(payload_of(frame));
  ASSERT_TRUE(decoded.value) << decoded.message;
  EXPECT_EQ(decoded.value->token, "secret");
  EXPECT_EQ(decoded.value->path, "/tmp/m.gcm");

  std::vector<uint8_t> no_path;
  append_reload_request(no_path, 7, {ReloadAction::load_path, "secret", ""});
  EXPECT_EQ(decode_reload(payload_of(no_path)).error, Status::malformed);
  std::vector<uint8_t> rollback_with_path;
  append_reload_request(rollback_with_path, 7, {ReloadAction::roll_back, "secret", "x"});
  EXPECT_EQ(decode_reload(payload_of(rollback_with_path)).error, Status::malformed);
  frame.pop_back();
  EXPECT_EQ(decode_reload(payload_of(frame)).error, Status::malformed);
}

TEST(ServeProtocol, PredictResponseRoundTrip) {
  std::vector<uint8_t> frame;
  size_t start = begin_frame(frame, 0x8001, 9);
  append_predict_response_start(frame, true, 1, 3, 5);
  ByteWriter w(frame);
  w.u32(2);
  for (float v : {0.1f, 0.2f, 0.7f, -1.0f, 0.0f, 1.5f}) w.f32(v);
  end_frame(frame, start);
  auto parsed = parse_header(frame, 1 << 20);
  ASSERT_EQ(parsed.header.payload_length, frame.size() - kHeaderSize);
  auto response = decode_predict_response(payload_of(frame));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->model_version, 5);
  ASSERT_EQ(response->predictions.size(), 1u);
  EXPECT_EQ(response->predictions[0].predicted_class, 2);
  EXPECT_FLOAT_EQ(response->predictions[0].probabilities[2], 0.7f);
  EXPECT_FLOAT_EQ(response->predictions[0].logits[2], 1.5f);
  frame.pop_back();
  EXPECT_FALSE(decode_predict_response(payload_of(frame)));
}

TEST(ServeProtocol, ErrorFramesCarryStatusAndMessage) {
  std::vector<uint8_t> frame;
  append_error(frame, 0x8003, 4, Status::overloaded, "queue full");
  auto response = decode_health_response(payload_of(frame));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, Status::overloaded);
  EXPECT_EQ(response->message, "queue full");
}
