// The listening address: IPv4 and IPv6 literals, names refused; peers named
// with their port, IPv6 ones in brackets; which addresses are loopback.
#include "serve/socket_address.h"

#include <gtest/gtest.h>

#include <stdexcept>

using gc::serve::address_name;
using gc::serve::listen_address;
using gc::serve::port_of;

TEST(SocketAddress, TakesIPv4AndIPv6Literals) {
  auto v4 = listen_address("127.0.0.1", 7878);
  EXPECT_EQ(v4.family(), AF_INET);
  EXPECT_EQ(port_of(v4), 7878);
  EXPECT_EQ(address_name(v4), "127.0.0.1:7878");

  auto v6 = listen_address("::1", 65535);
  EXPECT_EQ(v6.family(), AF_INET6);
  EXPECT_EQ(port_of(v6), 65535);
  EXPECT_EQ(address_name(v6), "[::1]:65535");

  EXPECT_EQ(address_name(listen_address("0.0.0.0", 0)), "0.0.0.0:0");
  EXPECT_EQ(address_name(listen_address("::", 1)), "[::]:1");
}

TEST(SocketAddress, RefusesNamesAndMalformedAddresses) {
  for (const char* text : {"localhost", "", "127.0.0.256", "1.2.3", ":::1", "[::1]", "::1 "}) {
    try {
      listen_address(text, 1);
      ADD_FAILURE() << "accepted '" << text << "'";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("IPv4 or IPv6"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("'" + std::string(text) + "'"), std::string::npos) << e.what();
    }
  }
}

TEST(SocketAddress, LoopbackIsOnly127AndColonColon1) {
  for (const char* text : {"127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"})
    EXPECT_TRUE(gc::serve::is_loopback(listen_address(text, 1))) << text;
  for (const char* text : {"0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "::2", "::ffff:10.0.0.1", "fe80::1"})
    EXPECT_FALSE(gc::serve::is_loopback(listen_address(text, 1))) << text;
}
