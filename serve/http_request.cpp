#include "serve/http_request.h"

#include <http_parser.h>

#include <algorithm>
#include <cctype>
#include <strings.h>

namespace gc::serve {

const std::string* HttpRequest::header(std::string_view name) const {
  for (const auto& [key, value] : headers)
    if (key == name) return &value;
  return nullptr;
}

std::string_view HttpRequest::path() const {
  std::string_view t = target;
  return t.substr(0, t.find('?'));
}

// http-parser calls back with pieces of the request as it scans; a piece of
// one header may come in several calls when the bytes arrive split.
struct HttpParserCallbacks {
  static HttpRequestReader& reader(http_parser* p) { return *static_cast<HttpRequestReader*>(p->data); }

  // Counts request-line and header bytes against the limit; false stops the parser.
  static bool within_header_limit(HttpRequestReader& r, size_t length) {
    r.header_bytes_ += length;
    if (r.header_bytes_ <= r.limits_.max_header_bytes) return true;
    r.refusal_status_ = 431;
    r.refusal_ = "request line and headers exceed " + std::to_string(r.limits_.max_header_bytes) + " bytes";
    return false;
  }

  static int on_message_begin(http_parser* p) {
    HttpRequestReader& r = reader(p);
    r.request_ = HttpRequest{};
    r.header_bytes_ = 0;
    r.in_header_value_ = false;
    r.declared_body_ = 0;
    return 0;
  }
  static int on_url(http_parser* p, const char* at, size_t length) {
    HttpRequestReader& r = reader(p);
    if (!within_header_limit(r, length)) return 1;
    r.request_.target.append(at, length);
    return 0;
  }
  static int on_header_field(http_parser* p, const char* at, size_t length) {
    HttpRequestReader& r = reader(p);
    if (!within_header_limit(r, length)) return 1;
    if (r.in_header_value_ || r.request_.headers.empty()) r.request_.headers.emplace_back();
    r.in_header_value_ = false;
    std::string& name = r.request_.headers.back().first;
    for (size_t i = 0; i < length; ++i)
      name.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(at[i]))));
    return 0;
  }
  static int on_header_value(http_parser* p, const char* at, size_t length) {
    HttpRequestReader& r = reader(p);
    if (!within_header_limit(r, length)) return 1;
    r.in_header_value_ = true;
    r.request_.headers.back().second.append(at, length);
    return 0;
  }
  static int on_headers_complete(http_parser* p) {
    HttpRequestReader& r = reader(p);
    HttpRequest& q = r.request_;
    q.method = http_method_str(static_cast<http_method>(p->method));
    q.version_minor = p->http_minor;
    q.keep_alive = http_should_keep_alive(p) != 0;
    if (p->http_major != 1) {
      r.refusal_status_ = 505;
      r.refusal_ = "HTTP/" + std::to_string(p->http_major) + "." + std::to_string(p->http_minor) +
                   " is not supported, only HTTP/1.0 and HTTP/1.1";
      return -1;
    }
    // RFC 9112 section 3.2: a server must answer 400 to an HTTP/1.1 request without Host.
    if (q.version_minor >= 1 && !q.header("host")) {
      r.refusal_status_ = 400;
      r.refusal_ = "an HTTP/1.1 request needs a Host header";
      return -1;
    }
    if ((p->flags & F_CONTENTLENGTH) != 0) {
      r.declared_body_ = p->content_length;
      if (p->content_length > r.limits_.max_body_bytes) {
        r.refusal_status_ = 413;
        r.refusal_ = "the body of " + std::to_string(p->content_length) + " bytes exceeds the limit of " +
                     std::to_string(r.limits_.max_body_bytes);
        return -1;
      }
      q.body.reserve(std::min<uint64_t>(p->content_length, 1 << 20));  // more as it arrives
    }
    const std::string* expect = q.header("expect");
    r.continue_due_ = expect && q.version_minor >= 1 && strcasecmp(expect->c_str(), "100-continue") == 0;
    return 0;
  }
  static int on_body(http_parser* p, const char* at, size_t length) {
    HttpRequestReader& r = reader(p);
    if (r.request_.body.size() + length > r.limits_.max_body_bytes) {  // chunked: no length up front
      r.refusal_status_ = 413;
      r.refusal_ = "the body exceeds the limit of " + std::to_string(r.limits_.max_body_bytes) + " bytes";
      return 1;
    }
    r.request_.body.append(at, length);
    return 0;
  }
  static int on_message_complete(http_parser* p) {
    reader(p).message_done_ = true;
    reader(p).continue_due_ = false;  // the body is already here
    http_parser_pause(p, 1);  // hand this request out before reading the next
    return 0;
  }
};

namespace {

const http_parser_settings kSettings = [] {
  http_parser_settings s{};
  s.on_message_begin = HttpParserCallbacks::on_message_begin;
  s.on_url = HttpParserCallbacks::on_url;
  s.on_header_field = HttpParserCallbacks::on_header_field;
  s.on_header_value = HttpParserCallbacks::on_header_value;
  s.on_headers_complete = HttpParserCallbacks::on_headers_complete;
  s.on_body = HttpParserCallbacks::on_body;
  s.on_message_complete = HttpParserCallbacks::on_message_complete;
  return s;
}();

}  // namespace

HttpRequestReader::HttpRequestReader(HttpLimits limits) : parser_(std::make_unique<http_parser>()), limits_(limits) {
  http_parser_init(parser_.get(), HTTP_REQUEST);
  parser_->data = this;
}

HttpRequestReader::~HttpRequestReader() = default;

HttpRequestReader::Result HttpRequestReader::feed(std::span<const uint8_t> bytes) {
  if (HTTP_PARSER_ERRNO(parser_.get()) == HPE_PAUSED) http_parser_pause(parser_.get(), 0);
  message_done_ = false;
  if (bytes.empty()) return {};
  mid_request_ = true;
  size_t used = http_parser_execute(parser_.get(), &kSettings, reinterpret_cast<const char*>(bytes.data()),
                                    bytes.size());
  auto error = HTTP_PARSER_ERRNO(parser_.get());
  if (message_done_) {
    mid_request_ = false;
    return {State::complete, used, 0, {}};
  }
  if (error == HPE_OK) return {State::need_more, used, 0, {}};
  if (refusal_status_ != 0) return {State::error, used, refusal_status_, refusal_};
  return {State::error, used, 400,
          std::string("malformed HTTP request: ") + http_errno_description(error)};
}

}  // namespace gc::serve
