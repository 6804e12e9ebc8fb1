#include "serve/socket_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdexcept>

namespace gc::serve {

SocketAddress listen_address(const std::string& text, int port) {
  SocketAddress a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
  if (inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    a.length = sizeof *v4;
  } else if (inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    a.length = sizeof *v6;
  } else {
    throw std::invalid_argument("bind address must be an IPv4 or IPv6 address (127.0.0.1, ::1), got '" + text +
                                "'");
  }
  return a;
}

bool is_loopback(const SocketAddress& address) {
  if (address.family() == AF_INET)
    return (ntohl(reinterpret_cast<const sockaddr_in&>(address.storage).sin_addr.s_addr) >> 24) == 127;
  const in6_addr& a = reinterpret_cast<const sockaddr_in6&>(address.storage).sin6_addr;
  return IN6_IS_ADDR_LOOPBACK(&a) || (IN6_IS_ADDR_V4MAPPED(&a) && a.s6_addr[12] == 127);
}

int port_of(const SocketAddress& address) {
  if (address.family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(address.storage).sin6_port);
  return ntohs(reinterpret_cast<const sockaddr_in&>(address.storage).sin_port);
}

std::string address_name(const SocketAddress& address) {
  char ip[INET6_ADDRSTRLEN] = "?";
  if (address.family() == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(address.storage).sin6_addr, ip, sizeof ip);
    return "[" + std::string(ip) + "]:" + std::to_string(port_of(address));
  }
  inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(address.storage).sin_addr, ip, sizeof ip);
  return std::string(ip) + ":" + std::to_string(port_of(address));
}

}  // namespace gc::serve
