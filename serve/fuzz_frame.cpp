// libFuzzer target for the frame parser: feeds arbitrary bytes through the
// same frame splitting the server does, then through every request and
// response decoder. Built and run by tools/run-fuzzers.sh (or cmake
// -DGRADCORE_FUZZ=ON with clang, target fuzz_frame).
// fuzz-sources: serve/protocol.cpp
#include "serve/protocol.h"

#include <cstddef>
#include <cstdint>
#include <span>

using namespace gc::serve::protocol;

namespace {
void decode_everything(std::span<const uint8_t> payload) {
  auto predict = decode_predict(payload);
  if (predict.value) {
    // A decoded request must describe exactly the bytes it came with.
    size_t element = predict.value->format == PixelFormat::uint8 ? 1 : 4;
    const auto& shape = predict.value->shape;
    size_t expected = static_cast<size_t>(predict.value->count) * shape[0] * shape[1] * shape[2] * element;
    if (predict.value->pixels.size() != expected || predict.value->count < 1) __builtin_trap();
  }
  decode_reload(payload);
  decode_predict_response(payload);
  decode_json_response(payload);
  decode_health_response(payload);
  decode_reload_response(payload);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> bytes(data, size);
  constexpr uint32_t kMaxPayload = 1 << 16;
  while (!bytes.empty()) {
    auto parsed = parse_header(bytes, kMaxPayload);
    if (parsed.state != HeaderParse::State::complete) break;
    if (parsed.header.payload_length > kMaxPayload) __builtin_trap();
    size_t frame = kHeaderSize + parsed.header.payload_length;
    if (bytes.size() < frame) break;
    decode_everything(bytes.subspan(kHeaderSize, parsed.header.payload_length));
    bytes = bytes.subspan(frame);
  }
  // Payload decoders must also survive bytes that never had a header.
  decode_everything(std::span<const uint8_t>(data, size));
  return 0;
}
