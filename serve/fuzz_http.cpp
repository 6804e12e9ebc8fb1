// libFuzzer target for the HTTP port's input side: arbitrary bytes through
// the request reader (fed in pieces, as reads deliver them), and every whole
// request's body through the infer decoder. Built and run by
// tools/run-fuzzers.sh.
// fuzz-sources: serve/http_request.cpp serve/http_infer.cpp serve/http_response.cpp
// fuzz-corpus: tests/http/fuzz_corpus
// fuzz-flags: -lhttp_parser -lsimdjson
#include "serve/http_infer.h"
#include "serve/http_request.h"

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <span>

using namespace gc::serve;

namespace {

void decode_body(const HttpRequest& request) {
  std::optional<size_t> json_bytes;
  if (const std::string* h = request.header("inference-header-content-length")) {
    size_t n = 0;
    if (std::from_chars(h->data(), h->data() + h->size(), n).ec == std::errc{}) json_bytes = n;
  }
  InferInputSpec spec{{1, 28, 28}, 8, -0.45, 2.85, nullptr};
  auto decoded = decode_infer_request(request.body, json_bytes, spec);
  if (!decoded.value) {
    if (decoded.message.empty()) __builtin_trap();  // every refusal says why
    return;
  }
  // A decoded request must hold exactly the pixels its count needs.
  size_t element = decoded.value->format == protocol::PixelFormat::uint8 ? 1 : 4;
  if (decoded.value->count < 1 || decoded.value->count > spec.max_batch ||
      decoded.value->pixels.size() != static_cast<size_t>(decoded.value->count) * 784 * element)
    __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t piece = 1 + data[0] % 64;  // the first byte: how the stream is cut into reads
  std::span<const uint8_t> stream(data + 1, size - 1);
  HttpRequestReader reader({.max_header_bytes = 4096, .max_body_bytes = 1 << 16});
  std::span<const uint8_t> pending;
  while (!stream.empty() || !pending.empty()) {
    if (pending.empty()) {
      pending = stream.first(std::min(piece, stream.size()));
      stream = stream.subspan(pending.size());
    }
    auto r = reader.feed(pending);
    if (r.consumed > pending.size()) __builtin_trap();
    pending = pending.subspan(r.consumed);
    if (r.state == HttpRequestReader::State::error) {
      if (r.status < 400 || r.message.empty()) __builtin_trap();
      return 0;
    }
    if (r.state == HttpRequestReader::State::complete) decode_body(reader.request());
  }
  return 0;
}
