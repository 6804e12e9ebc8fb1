#include "serve/tls.h"

#include <arpa/inet.h>
#include <signal.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <utility>

namespace gc::serve::tls {

namespace {

// The reason of the oldest error OpenSSL queued on this thread ("wrong
// version number", "tlsv1 alert unknown ca"), and the queue emptied.
std::string openssl_reason() {
  std::string reason;
  while (unsigned long code = ERR_get_error())
    if (reason.empty()) {
      const char* text = ERR_reason_error_string(code);
      reason = text ? text : "OpenSSL error " + std::to_string(code);
    }
  return reason.empty() ? "unknown OpenSSL error" : reason;
}

void require_file(const std::string& path, const char* what) {
  if (!std::filesystem::is_regular_file(path))
    throw std::runtime_error(std::string(what) + " '" + path + "' is not a readable file");
}

// Before each OpenSSL call: its error queue and errno then say only what that call did.
void clear_errors() {
  ERR_clear_error();
  errno = 0;
}

// OpenSSL writes to its sockets with write(), not send(..., MSG_NOSIGNAL),
// so a write to a peer that has gone raises SIGPIPE, whose default action
// ends the process. With TLS in use the process ignores it (unless it has a
// handler of its own) and the write fails with EPIPE instead.
void ignore_sigpipe() {
  struct sigaction current {};
  if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) signal(SIGPIPE, SIG_IGN);
}

ssl_ctx_st* new_context(const SSL_METHOD* method) {
  ignore_sigpipe();
  SSL_CTX* ctx = SSL_CTX_new(method);
  if (!ctx) throw std::runtime_error("cannot create a TLS context: " + openssl_reason());
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // Writes may stop after any record and resume from a buffer that has since
  // moved (the server compacts its output buffers; it only appends to them).
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // TLS 1.2 renegotiation would let a read need a write mid-stream; neither
  // side needs it.
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
  // Take all the socket holds (up to a record's buffer) in one recv, not a
  // record's 5-byte header and then its body in two.
  SSL_CTX_set_read_ahead(ctx, 1);
  return ctx;
}

}  // namespace

void configure_server(ssl_ctx_st* ctx, const std::string& cert_file, const std::string& key_file) {
  require_file(cert_file, "TLS certificate");
  require_file(key_file, "TLS key");
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1)
    throw std::runtime_error("TLS certificate '" + cert_file + "': " + openssl_reason());
  // This also checks that the key is the certificate's ("key values mismatch").
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    throw std::runtime_error("TLS key '" + key_file + "' for the certificate '" + cert_file +
                             "': " + openssl_reason());
  // A client that goes away without a close_notify has only ended its
  // requests (each frame says how long it is), so the end of the stream is
  // read as a close, as on a plain socket.
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  // No session tickets: the clients do not resume sessions, and each ticket
  // costs the server an encryption per connection.
  SSL_CTX_set_num_tickets(ctx, 0);
}

Context Context::server(const std::string& cert_file, const std::string& key_file) {
  Context context(new_context(TLS_server_method()));
  configure_server(context.ctx_, cert_file, key_file);
  return context;
}

Context Context::client(const std::string& ca_file) {
  Context context(new_context(TLS_client_method()));
  ERR_clear_error();
  if (ca_file.empty()) {
    if (SSL_CTX_set_default_verify_paths(context.ctx_) != 1)
      throw std::runtime_error("cannot load the system's certificate authorities: " + openssl_reason());
  } else {
    require_file(ca_file, "TLS CA file");
    if (SSL_CTX_load_verify_locations(context.ctx_, ca_file.c_str(), nullptr) != 1)
      throw std::runtime_error("TLS CA file '" + ca_file + "': " + openssl_reason());
  }
  SSL_CTX_set_verify(context.ctx_, SSL_VERIFY_PEER, nullptr);
  return context;
}

Context::Context(Context&& other) noexcept : ctx_(std::exchange(other.ctx_, nullptr)) {}
Context::~Context() { SSL_CTX_free(ctx_); }

Session::Session(const Context& context, int fd, Role role, const std::string& host) : ssl_(SSL_new(context.get())) {
  if (!ssl_ || SSL_set_fd(ssl_, fd) != 1) {
    SSL_free(ssl_);
    throw std::runtime_error("cannot start a TLS session: " + openssl_reason());
  }
  if (role == Role::accept) {
    SSL_set_accept_state(ssl_);
    return;
  }
  SSL_set_connect_state(ssl_);
  // The certificate must be for the host: an address literal is matched
  // against its IP entries, a name against its DNS ones (and sent as SNI).
  in6_addr scratch;
  bool is_address = inet_pton(AF_INET, host.c_str(), &scratch) == 1 || inet_pton(AF_INET6, host.c_str(), &scratch) == 1;
  bool ok = is_address ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), host.c_str()) == 1
                       : SSL_set_tlsext_host_name(ssl_, host.c_str()) == 1 && SSL_set1_host(ssl_, host.c_str()) == 1;
  if (!ok) {
    SSL_free(ssl_);
    throw std::runtime_error("cannot check TLS certificates for the host '" + host + "'");
  }
}

Session::~Session() { SSL_free(ssl_); }

bool Session::handshake_done() const { return SSL_is_init_finished(ssl_) == 1; }
bool Session::buffered() const { return SSL_has_pending(ssl_) == 1; }

IoResult Session::handshake() {
  if (end_.state != IoState::ok) return end_;
  clear_errors();
  int ret = SSL_do_handshake(ssl_);
  return ret == 1 ? IoResult{IoState::ok, 0, {}} : stopped(ret);
}

IoResult Session::read(uint8_t* out, size_t n) {
  if (end_.state != IoState::ok) return end_;
  size_t got = 0;
  while (got < n) {
    clear_errors();
    size_t chunk = 0;
    int ret = SSL_read_ex(ssl_, out + got, n - got, &chunk);
    if (ret == 1) {
      got += chunk;
      if (!SSL_has_pending(ssl_)) break;  // the socket may hold more; epoll or poll will say so
      continue;
    }
    IoResult stop = stopped(ret);
    if (got == 0) return stop;
    break;  // a close or failure is reported again by the next call
  }
  return {IoState::ok, got, {}};
}

IoResult Session::write(const uint8_t* in, size_t n) {
  if (end_.state != IoState::ok) return end_;
  size_t sent = 0;
  while (sent < n) {
    clear_errors();
    size_t chunk = 0;
    int ret = SSL_write_ex(ssl_, in + sent, n - sent, &chunk);
    if (ret == 1) {
      sent += chunk;
      continue;
    }
    IoResult stop = stopped(ret);
    if (sent == 0) return stop;
    break;
  }
  return {IoState::ok, sent, {}};
}

IoResult Session::stopped(int ret) {
  switch (SSL_get_error(ssl_, ret)) {
    case SSL_ERROR_WANT_READ:
      return {IoState::want_read, 0, {}};
    case SSL_ERROR_WANT_WRITE:
      return {IoState::want_write, 0, {}};
    case SSL_ERROR_ZERO_RETURN:
      end_ = {IoState::closed, 0, {}};
      break;
    case SSL_ERROR_SYSCALL:
      end_ = {IoState::failed, 0, errno != 0 ? std::strerror(errno) : "the peer closed the connection"};
      ERR_clear_error();
      break;
    default: {
      std::string reason = openssl_reason();
      long verified = SSL_get_verify_result(ssl_);
      if (verified != X509_V_OK) reason += ": " + std::string(X509_verify_cert_error_string(verified));
      end_ = {IoState::failed, 0, reason};
    }
  }
  return end_;
}

void Session::close_notify() {
  if (end_.state == IoState::failed || !handshake_done()) return;
  ERR_clear_error();
  SSL_shutdown(ssl_);
  ERR_clear_error();
}

}  // namespace gc::serve::tls
