// Writing HTTP/1.1 responses into a connection's output buffer, and the
// JSON error body of the Open Inference Protocol: {"error": "..."}.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gc::serve {

inline constexpr std::string_view kJson = "application/json";

const char* http_reason(int status);  // "OK", "Not Found", ...

// close: "Connection: close" (the server closes once this is written).
// inference_header_bytes, for the binary tensor data extension: the body is
// JSON of this many bytes, then raw tensor bytes (0: the whole body is JSON or text).
void append_http_response(std::vector<uint8_t>& out, int status, std::string_view content_type,
                          std::string_view body, bool close, size_t inference_header_bytes = 0);

// Appends `text` as a JSON string literal, quotes included.
void append_json_string(std::string& out, std::string_view text);
// {"error": "<message>"}
std::string json_error(std::string_view message);

}  // namespace gc::serve
