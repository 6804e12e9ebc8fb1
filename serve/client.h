// A small blocking client for the gradcore serving protocol (docs/PROTOCOL.md).
// One request at a time per call; for pipelining use send_bytes/read_frame
// with the encoders of serve/protocol.h. Link gc_serve. Example:
// serve/examples/client_example.cpp.
//
//   gc::serve::Client client("127.0.0.1", 7878);
//   auto answer = client.predict(pixels, 1);  // 784 uint8 pixels
//   if (answer.status == gc::serve::protocol::Status::ok)
//     std::printf("%d\n", answer.predictions[0].predicted_class);
//
// Over TLS, pass a client context (serve/tls.h) that trusts the server's CA:
//   auto trust = gc::serve::tls::Context::client("ca.pem");
//   gc::serve::Client client("localhost", 7878, 10000, &trust);
#pragma once

#include "serve/protocol.h"
#include "serve/stream_io.h"
#include "serve/tls.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
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
  // timeout_ms. With `tls`, which must outlive the constructor only, the
  // socket is non-blocking and the handshake is done here: the server's
  // certificate must chain to the context's CAs and be for `host`. Throws
  // std::runtime_error.
  Client(const std::string& host, int port, int timeout_ms = 10000, const tls::Context* tls = nullptr)
      : timeout_ms_(timeout_ms) {
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
    if (tls) {
      fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_NONBLOCK);
      try {
        tls_ = std::make_unique<tls::Session>(*tls, fd_, tls::Session::Role::connect, host);
        transfer([this] { return tls_->handshake(); }, "TLS handshake with " + host);
        if (!tls_->handshake_done())
          throw std::runtime_error("TLS handshake with " + host + " failed: the server closed the connection");
      } catch (...) {
        close();
        throw;
      }
    }
  }
  ~Client() { close(); }
  Client(Client&& other) noexcept
      : fd_(std::exchange(other.fd_, -1)),
        tls_(std::move(other.tls_)),
        timeout_ms_(other.timeout_ms_),
        next_id_(other.next_id_) {}
  Client& operator=(Client&&) = delete;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void close() {
    if (tls_) tls_->close_notify();
    tls_.reset();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int fd() const { return fd_; }
  bool uses_tls() const { return tls_ != nullptr; }

  // One try that never waits on a non-blocking socket (the load generator
  // makes its plaintext ones so): what moved, or which way to wait.
  IoResult read_some(uint8_t* out, size_t n) { return tls_ ? tls_->read(out, n) : socket_read(fd_, out, n); }
  IoResult write_some(const uint8_t* in, size_t n) { return tls_ ? tls_->write(in, n) : socket_write(fd_, in, n); }
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
    while (sent < bytes.size())
      sent += transfer([&] { return write_some(bytes.data() + sent, bytes.size() - sent); }, "send", POLLOUT);
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

  // Repeats `step` until it moves bytes (returns how many) or the stream
  // closes (returns 0), waiting each time the way it asks. A plaintext
  // socket blocks, so it is polled first (`first_wait`); a TLS one is tried
  // first, as the session may hold decrypted bytes that poll cannot see.
  template <typename Step>
  size_t transfer(Step step, const std::string& what, short first_wait = 0) {
    if (!tls_ && first_wait) wait_for(first_wait);
    for (;;) {
      IoResult r = step();
      switch (r.state) {
        case IoState::ok:
          return r.bytes;
        case IoState::closed:
          return 0;
        case IoState::want_read:
          wait_for(POLLIN);
          break;
        case IoState::want_write:
          wait_for(POLLOUT);
          break;
        case IoState::failed:
          throw std::runtime_error(what + " failed: " + r.error);
      }
    }
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
      size_t r = transfer([&] { return read_some(out + got, n - got); }, "recv", POLLIN);
      if (r == 0) throw std::runtime_error("server closed the connection");
      got += r;
    }
  }

  int fd_ = -1;
  std::unique_ptr<tls::Session> tls_;
  int timeout_ms_;
  uint64_t next_id_ = 1;
};

}  // namespace gc::serve
