// The optional HTTP side door: GET /metrics (Prometheus text format) and
// GET /healthz, served by cpp-httplib on its own thread, over HTTPS when
// given a certificate and key (set up as serve/tls.h sets up the TCP port).
// It only reads the server's atomic stats, so it never slows the I/O thread
// down.
#pragma once

#include "serve/stats.h"

#include <memory>
#include <string>
#include <thread>

namespace httplib {
class Server;
}

namespace gc::serve {

class MetricsHttpServer {
 public:
  // Binds now (port 0 picks a free one); throws when it cannot. Empty
  // cert_file and key_file: plain HTTP.
  MetricsHttpServer(const ServerStats& stats, const std::string& bind_address, int port,
                    const std::string& cert_file = "", const std::string& key_file = "");
  ~MetricsHttpServer();  // stops and joins
  int port() const { return port_; }
  void start();  // serves on a new thread
  void stop();

 private:
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace gc::serve
