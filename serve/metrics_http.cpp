#include "serve/metrics_http.h"

#include "serve/tls.h"

#include <httplib.h>

#include <chrono>
#include <stdexcept>

namespace gc::serve {

namespace {

std::unique_ptr<httplib::Server> make_server(const std::string& cert_file, const std::string& key_file) {
  if (cert_file.empty()) return std::make_unique<httplib::Server>();
  std::string error;
  auto server = std::make_unique<httplib::SSLServer>([&](SSL_CTX& ctx) {
    try {
      tls::configure_server(&ctx, cert_file, key_file);
      return true;
    } catch (const std::exception& e) {
      error = e.what();
      return false;
    }
  });
  if (!server->is_valid()) throw std::runtime_error("HTTPS endpoint: " + error);
  return server;
}

}  // namespace

MetricsHttpServer::MetricsHttpServer(const ServerStats& stats, const std::string& bind_address, int port,
                                     const std::string& cert_file, const std::string& key_file)
    : http_(make_server(cert_file, key_file)) {
  http_->Get("/metrics", [&stats](const httplib::Request&, httplib::Response& res) {
    res.set_content(stats.to_prometheus(), "text/plain; version=0.0.4");
  });
  http_->Get("/healthz", [&stats](const httplib::Request&, httplib::Response& res) {
    bool draining = stats.draining.load(std::memory_order_relaxed);
    res.status = draining ? 503 : 200;
    res.set_content(draining ? "draining\n" : "ok\n", "text/plain");
  });
  port_ = port == 0 ? http_->bind_to_any_port(bind_address) : (http_->bind_to_port(bind_address, port) ? port : -1);
  if (port_ <= 0) throw std::runtime_error("cannot bind the HTTP port " + bind_address + ":" + std::to_string(port));
}

MetricsHttpServer::~MetricsHttpServer() { stop(); }

void MetricsHttpServer::start() {
  thread_ = std::thread([this] { http_->listen_after_bind(); });
  // httplib's stop() does nothing until the listen loop has begun, so wait
  // for it (bounded) to make a later stop() reliable.
  for (int i = 0; i < 2000 && !http_->is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void MetricsHttpServer::stop() {
  http_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace gc::serve
