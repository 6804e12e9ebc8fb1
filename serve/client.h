// A small blocking client for the gradcore serving protocol (docs/PROTOCOL.md).
// One request at a time per call; for pipelining use send_bytes/read_frame
// with the encoders of serve/protocol.h. Link gc_serve. Example:
// serve/examples/client_example.cpp.
//
//   gc::serve::Client client("127.0.0.1", 7878);
//   auto answer = client.predict(pixels, 1);  // 784 uint8 pixels
//   if (answer.status == gc::serve::protocol::Status::ok)
//     std::printf("%d\n", answer.predictions[0].predicted_class);
#pragma once

#include "serve/protocol.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace gc::serve {

struct Frame {
  protocol::FrameHeader header;
  std::vector<uint8_t> payload;
};

namespace client_detail {
template <typename Decoder>
auto decoded(Decoder decode, const Frame& frame) {
  auto response = decode(frame.payload);
  if (!response) throw std::runtime_error("malformed response payload from server");
  return *response;
}
}  // namespace client_detail

class Client {
 public:
  static constexpr uint32_t kMaxResponsePayload = 64u << 20;

  // Connects (host: a name, an IPv4 or an IPv6 address) to the first of the
  // host's addresses that accepts; every later read or write gives up after
  // timeout_ms. Throws std::runtime_error.
  Client(const std::string& host, int port, int timeout_ms = 10000) : timeout_ms_(timeout_ms) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0 || !found)
      throw std::runtime_error("cannot resolve " + host);
    std::string reason;
    for (addrinfo* a = found; a && fd_ < 0; a = a->ai_next) {
      fd_ = ::socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd_ >= 0 && ::connect(fd_, a->ai_addr, a->ai_addrlen) == 0) break;
      reason = std::strerror(errno);
      close();
    }
    freeaddrinfo(found);
    if (fd_ < 0) throw std::runtime_error("cannot connect to " + host + ":" + std::to_string(port) + ": " + reason);
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~Client() { close(); }
  Client(Client&& other) noexcept
      : fd_(std::exchange(other.fd_, -1)), timeout_ms_(other.timeout_ms_), next_id_(other.next_id_) {}
  Client& operator=(Client&&) = delete;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int fd() const { return fd_; }
  uint64_t next_request_id() { return next_id_++; }

  // ---- one request, one answer ----------------------------------------------

  // uint8 pixels, count images of `shape`; the server normalises them.
  protocol::PredictResponse predict(std::span<const uint8_t> pixels, int count, bool want_logits = false,
                                    std::array<int, 3> shape = {1, 28, 28}) {
    return predict_raw(protocol::PixelFormat::uint8, pixels, count, want_logits, shape);
  }
  // float32 images already normalised the way the model expects.
  protocol::PredictResponse predict_normalised(std::span<const float> images, int count, bool want_logits = false,
                                               std::array<int, 3> shape = {1, 28, 28}) {
    std::vector<uint8_t> bytes;
    protocol::ByteWriter w(bytes);
    for (float v : images) w.f32(v);
    return predict_raw(protocol::PixelFormat::float32, bytes, count, want_logits, shape);
  }
  protocol::JsonResponse info() { return client_detail::decoded(protocol::decode_json_response, empty_request(protocol::MessageType::info)); }
  protocol::JsonResponse stats() {
    return client_detail::decoded(protocol::decode_json_response, empty_request(protocol::MessageType::stats));
  }
  protocol::HealthResponse health() {
    return client_detail::decoded(protocol::decode_health_response, empty_request(protocol::MessageType::health));
  }
  // Loads `path` on the server; an empty path rolls back instead.
  protocol::ReloadResponse reload(const std::string& token, const std::string& path) {
    protocol::ReloadRequest request;
    request.action = path.empty() ? protocol::ReloadAction::roll_back : protocol::ReloadAction::load_path;
    request.token = token;
    request.path = path;
    std::vector<uint8_t> bytes;
    uint64_t id = next_request_id();
    protocol::append_reload_request(bytes, id, request);
    return client_detail::decoded(protocol::decode_reload_response, exchange(bytes, id));
  }

  // ---- raw frames -----------------------------------------------------------

  void send_bytes(std::span<const uint8_t> bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
      wait_for(POLLOUT);
      ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw std::runtime_error(std::string("send failed: ") + std::strerror(errno));
      sent += static_cast<size_t>(n);
    }
  }

  // Reads one whole frame. Throws when the server closes the connection,
  // on timeout, and on a frame that is not a protocol frame.
  Frame read_frame() {
    uint8_t header[protocol::kHeaderSize];
    read_exactly(header, sizeof header);
    auto parsed = protocol::parse_header(header, kMaxResponsePayload);
    if (parsed.state != protocol::HeaderParse::State::complete)
      throw std::runtime_error("bad frame from server: " + parsed.message);
    Frame frame{parsed.header, std::vector<uint8_t>(parsed.header.payload_length)};
    read_exactly(frame.payload.data(), frame.payload.size());
    return frame;
  }

  // Sends a whole request frame and reads frames until the one answering `id`.
  Frame exchange(std::span<const uint8_t> request, uint64_t id) {
    send_bytes(request);
    for (;;) {
      Frame frame = read_frame();
      if (frame.header.request_id == id || frame.header.type == protocol::kFramingErrorType) return frame;
    }
  }

 private:
  protocol::PredictResponse predict_raw(protocol::PixelFormat format, std::span<const uint8_t> bytes, int count,
                                        bool want_logits, std::array<int, 3> shape) {
    std::vector<uint8_t> request;
    uint64_t id = next_request_id();
    protocol::append_predict_request(request, id, format, want_logits, count, shape, bytes);
    return client_detail::decoded(protocol::decode_predict_response, exchange(request, id));
  }

  Frame empty_request(protocol::MessageType type) {
    std::vector<uint8_t> bytes;
    uint64_t id = next_request_id();
    protocol::append_empty_request(bytes, type, id);
    return exchange(bytes, id);
  }

  void wait_for(short events) {
    pollfd p{fd_, events, 0};
    for (;;) {
      int n = ::poll(&p, 1, timeout_ms_);
      if (n < 0 && errno == EINTR) continue;
      if (n == 0) throw std::runtime_error("timed out waiting for the server");
      if (n < 0) throw std::runtime_error(std::string("poll failed: ") + std::strerror(errno));
      return;
    }
  }

  void read_exactly(uint8_t* out, size_t n) {
    size_t got = 0;
    while (got < n) {
      wait_for(POLLIN);
      ssize_t r = ::recv(fd_, out + got, n - got, 0);
      if (r < 0 && errno == EINTR) continue;
      if (r == 0) throw std::runtime_error("server closed the connection");
      if (r < 0) throw std::runtime_error(std::string("recv failed: ") + std::strerror(errno));
      got += static_cast<size_t>(r);
    }
  }

  int fd_ = -1;
  int timeout_ms_;
  uint64_t next_id_ = 1;
};

}  // namespace gc::serve
