// The server's listening address and its peers' names, IPv4 or IPv6.
#pragma once

#include <sys/socket.h>

#include <string>

namespace gc::serve {

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  int family() const { return storage.ss_family; }
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage); }
};

// An IPv4 literal ("127.0.0.1", "0.0.0.0") or an IPv6 one ("::1", "::"), and
// a port. Names are refused: which of a name's addresses to listen on would
// be a guess. Throws std::invalid_argument naming the text.
SocketAddress listen_address(const std::string& text, int port);

// 127.0.0.0/8, ::1, or an IPv4-mapped 127.x address: only this machine can connect.
bool is_loopback(const SocketAddress& address);

// "127.0.0.1:5000", "[::1]:5000": the port of the address.
int port_of(const SocketAddress& address);
std::string address_name(const SocketAddress& address);

}  // namespace gc::serve
