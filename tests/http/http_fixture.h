// Test helpers for the HTTP port: a raw HTTP/1.1 client on a plain socket
// that sends exactly the bytes a test writes and reads responses one at a
// time (so pipelining, a missing Host or a trickled request can be written
// by hand), and a running server with the HTTP port on.
#pragma once

#include "../serve/server_fixture.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>

namespace gc::serve::test {

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

class RawHttp {
 public:
  explicit RawHttp(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      throw std::runtime_error(std::string("connect: ") + std::strerror(errno));
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~RawHttp() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawHttp(RawHttp&& o) noexcept : fd_(o.fd_), buffer_(std::move(o.buffer_)) { o.fd_ = -1; }
  RawHttp(const RawHttp&) = delete;
  int fd() const { return fd_; }

  void send(const std::string& bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error("send failed");
      sent += static_cast<size_t>(n);
    }
  }

  // The next response, or nullopt when the server closed first or nothing
  // whole came within timeout_ms.
  std::optional<RawResponse> read(int timeout_ms = 5000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      if (auto r = take()) return r;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
      char chunk[65536];
      ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) return std::nullopt;
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

  // True when the server closes the connection within timeout_ms.
  bool closed(int timeout_ms = 3000) {
    pollfd p{fd_, POLLIN, 0};
    char chunk[4096];
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      if (::poll(&p, 1, 50) <= 0) continue;
      if (::recv(fd_, chunk, sizeof chunk, 0) <= 0) return true;
    }
    return false;
  }

 private:
  std::optional<RawResponse> take() {
    size_t end = buffer_.find("\r\n\r\n");
    if (end == std::string::npos) return std::nullopt;
    RawResponse r;
    r.status = std::atoi(buffer_.c_str() + buffer_.find(' ') + 1);
    size_t line = buffer_.find("\r\n") + 2;
    while (line < end) {
      size_t next = buffer_.find("\r\n", line);
      std::string header = buffer_.substr(line, next - line);
      size_t colon = header.find(':');
      std::string name = header.substr(0, colon);
      for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      r.headers[name] = header.substr(header.find_first_not_of(' ', colon + 1));
      line = next + 2;
    }
    size_t length = std::stoul(r.headers.count("content-length") ? r.headers["content-length"] : "0");
    if (buffer_.size() < end + 4 + length) return std::nullopt;
    r.body = buffer_.substr(end + 4, length);
    buffer_.erase(0, end + 4 + length);
    return r;
  }

  int fd_ = -1;
  std::string buffer_;
};

inline std::string get_request(const std::string& path, const std::string& extra = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n" + extra + "\r\n";
}

inline std::string post_request(const std::string& path, const std::string& body, const std::string& extra = "") {
  return "POST " + path + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n" + extra + "\r\n" + body;
}

// An infer request body for `count` uint8 images, JSON numbers, shape [count, 784].
inline std::string infer_json(const std::vector<uint8_t>& pixels, const std::string& id = "") {
  std::string body = "{";
  if (!id.empty()) body += "\"id\":\"" + id + "\",";
  body += "\"inputs\":[{\"name\":\"input\",\"datatype\":\"UINT8\",\"shape\":[" +
          std::to_string(pixels.size() / kPixels) + ",784],\"data\":[";
  for (size_t i = 0; i < pixels.size(); ++i) body += (i ? "," : "") + std::to_string(pixels[i]);
  return body + "]}]}";
}

inline ServerOptions http_options() {
  ServerOptions o = test_options();
  o.http_port = 0;
  return o;
}

}  // namespace gc::serve::test
