// TLS for the serving protocol and the HTTP side door (OpenSSL, TLS 1.2 and
// 1.3 only). A Context holds the certificate and key a server shows, or the
// certificate authorities a client trusts; a Session is one connection's TLS
// over a socket the caller owns. Sessions never block on their own: on a
// non-blocking socket every call returns at once with an IoResult that says
// which way the socket must become ready before the call is repeated. Making
// a Context sets SIGPIPE to be ignored in the process (serve/tls.cpp).
#pragma once

#include "serve/stream_io.h"

#include <cstddef>
#include <cstdint>
#include <string>

struct ssl_ctx_st;  // OpenSSL's SSL_CTX
struct ssl_st;      // OpenSSL's SSL

namespace gc::serve::tls {

class Context {
 public:
  // The certificate chain (PEM, the server's certificate first) and its
  // private key (PEM). Throws std::runtime_error naming the file and the reason.
  static Context server(const std::string& cert_file, const std::string& key_file);
  // Trusts the certificates in ca_file (PEM), or the system's store when it is
  // empty; the server's certificate must chain to one and name the host.
  static Context client(const std::string& ca_file);

  Context(Context&& other) noexcept;
  Context& operator=(Context&&) = delete;
  Context(const Context&) = delete;
  ~Context();
  ssl_ctx_st* get() const { return ctx_; }

 private:
  explicit Context(ssl_ctx_st* ctx) : ctx_(ctx) {}
  ssl_ctx_st* ctx_;
};

// What Context::server sets up, on a context made elsewhere. Throws like
// Context::server.
void configure_server(ssl_ctx_st* ctx, const std::string& cert_file, const std::string& key_file);

class Session {
 public:
  enum class Role { accept, connect };
  // `host` (connect only): the name or address the certificate must be for.
  Session(const Context& context, int fd, Role role, const std::string& host = "");
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Drives the handshake; ok once it is done. read and write drive it too.
  IoResult handshake();
  // Reads up to n bytes, stopping when the session holds no more (the socket
  // may: a level-triggered epoll or poll then says so), or writes as much of
  // n as the socket takes; ok with bytes > 0 while any moved. After closed or
  // failed, every call answers the same.
  IoResult read(uint8_t* out, size_t n);
  IoResult write(const uint8_t* in, size_t n);
  bool handshake_done() const;
  bool buffered() const;  // bytes wait in the session (read from the socket, decrypted or not)
  // Tells the peer this side is done (a close_notify alert), one try that
  // does not wait; nothing after a failure.
  void close_notify();

 private:
  IoResult stopped(int ret);  // the result of a call that moved nothing
  ssl_st* ssl_;
  IoResult end_{IoState::ok, 0, {}};  // closed or failed, once reached
};

}  // namespace gc::serve::tls
