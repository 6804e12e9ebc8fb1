// HTTP/1.1 requests read off a byte stream, for the server's HTTP port
// (docs/HTTP.md). The parsing itself is Debian's http-parser (the parser
// Node.js used until v12, fuzzed for years); this wraps it with the limits a
// server facing strangers needs, and hands out one whole request at a time so
// that pipelined requests are answered in order.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct http_parser;

namespace gc::serve {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // the request target as sent: "/v2/models/mnist?x=1"
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, in arrival order
  std::string body;    // de-chunked
  bool keep_alive = true;  // false: HTTP/1.0 without keep-alive, or "Connection: close"
  int version_minor = 1;   // 0 or 1 (HTTP/1.x)

  // The first header of that (lower-case) name, or null.
  const std::string* header(std::string_view name) const;
  // The target without its query string.
  std::string_view path() const;
};

struct HttpLimits {
  size_t max_header_bytes = 16 * 1024;  // request line and headers together
  size_t max_body_bytes = 8 << 20;
};

class HttpRequestReader {
 public:
  explicit HttpRequestReader(HttpLimits limits);
  ~HttpRequestReader();
  HttpRequestReader(const HttpRequestReader&) = delete;
  HttpRequestReader& operator=(const HttpRequestReader&) = delete;

  enum class State { need_more, complete, error };
  struct Result {
    State state = State::need_more;
    size_t consumed = 0;  // bytes of `bytes` taken; with complete, the rest belong to later requests
    int status = 0;       // with error: the status to answer (400, 413, 431, 505)
    std::string message;  // with error: what was wrong
  };

  // Takes in bytes until one request is whole (complete: request() holds it
  // until the next feed), all bytes are taken (need_more), or the stream is
  // broken (error: feed no more, answer `status` and close).
  Result feed(std::span<const uint8_t> bytes);
  const HttpRequest& request() const { return request_; }

  // Bytes of a request that is not whole yet have been taken.
  bool mid_request() const { return mid_request_; }
  // The Content-Length of the request being read, once its headers are in (else 0).
  uint64_t declared_body_bytes() const { return declared_body_; }
  // True once per request whose headers asked "Expect: 100-continue" and
  // whose body is not in yet: the server should answer "100 Continue".
  bool take_continue() { return std::exchange(continue_due_, false); }

 private:
  friend struct HttpParserCallbacks;
  std::unique_ptr<http_parser> parser_;
  HttpLimits limits_;
  HttpRequest request_;
  size_t header_bytes_ = 0;
  bool in_header_value_ = false;
  bool mid_request_ = false;
  bool message_done_ = false;
  bool continue_due_ = false;
  uint64_t declared_body_ = 0;
  int refusal_status_ = 0;  // set by a callback that stopped the parser on a limit
  std::string refusal_;
};

}  // namespace gc::serve
