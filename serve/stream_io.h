// One non-blocking read or write on a connection's byte stream, with the same
// outcomes for a plain socket (below) and a TLS session (serve/tls.h), so the
// server, the client and the load generator each have one I/O path for both.
#pragma once

#include <sys/socket.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace gc::serve {

enum class IoState {
  ok,          // `bytes` moved (at least one)
  want_read,   // nothing moved: call again once the socket is readable
  want_write,  // nothing moved: call again once the socket is writable
  closed,      // the peer finished sending (reads only)
  failed,      // the stream is broken; `error` says why
};

struct IoResult {
  IoState state = IoState::ok;
  size_t bytes = 0;
  std::string error;
};

inline IoResult socket_read(int fd, uint8_t* out, size_t n) {
  for (;;) {
    ssize_t got = ::recv(fd, out, n, 0);
    if (got > 0) return {IoState::ok, static_cast<size_t>(got), {}};
    if (got == 0) return {IoState::closed, 0, {}};
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return {IoState::want_read, 0, {}};
    return {IoState::failed, 0, std::strerror(errno)};
  }
}

inline IoResult socket_write(int fd, const uint8_t* in, size_t n) {
  for (;;) {
    ssize_t sent = ::send(fd, in, n, MSG_NOSIGNAL);
    if (sent > 0) return {IoState::ok, static_cast<size_t>(sent), {}};
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return {IoState::want_write, 0, {}};
    return {IoState::failed, 0, sent == 0 ? "send wrote nothing" : std::strerror(errno)};
  }
}

}  // namespace gc::serve
