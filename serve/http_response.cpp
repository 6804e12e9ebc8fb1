#include "serve/http_response.h"

#include <cstdio>

namespace gc::serve {

const char* http_reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

void append_http_response(std::vector<uint8_t>& out, int status, std::string_view content_type,
                          std::string_view body, bool close, size_t inference_header_bytes) {
  char head[256];
  int n = std::snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\nContent-Type: %.*s\r\nContent-Length: %zu\r\n%s",
                        status, http_reason(status), static_cast<int>(content_type.size()), content_type.data(),
                        body.size(), close ? "Connection: close\r\n" : "");
  out.insert(out.end(), head, head + n);
  if (inference_header_bytes > 0) {
    n = std::snprintf(head, sizeof head, "Inference-Header-Content-Length: %zu\r\n", inference_header_bytes);
    out.insert(out.end(), head, head + n);
  }
  out.push_back('\r');
  out.push_back('\n');
  out.insert(out.end(), body.begin(), body.end());
}

void append_json_string(std::string& out, std::string_view text) {
  out.push_back('"');
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(ch);
    } else if (c < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out += escaped;
    } else {
      out.push_back(ch);
    }
  }
  out.push_back('"');
}

std::string json_error(std::string_view message) {
  std::string body = "{\"error\":";
  append_json_string(body, message);
  body.push_back('}');
  return body;
}

}  // namespace gc::serve
