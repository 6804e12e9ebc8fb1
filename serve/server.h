// The inference server of docs/PROTOCOL.md.
//
// Shape, chosen for a small machine where handing work to another core costs
// more than the work: one thread does everything per connection. It waits on
// epoll, reads every ready connection, parses frames, answers INFO/HEALTH/
// STATS at once, queues PREDICT images, then runs the queued images of all
// connections as one batch (up to max_batch) inline, and writes the answers
// with non-blocking writes from per-connection output buffers. The model's
// forward pass may itself use the other cores; the answers' writes are
// shared with those same OpenMP threads, which sleep while a batch gathers.
// Loading a new model runs on a side thread, a shadow model (if any) on
// one of its own at low priority (serve/shadow.h). The optional HTTP port (the
// Open Inference Protocol, /metrics, the page: docs/HTTP.md) is served by
// the same loop, its infer requests joining the same batches. The loop is
// serve/event_loop.h.
#pragma once

#include "serve/model.h"
#include "serve/stats.h"

#include <cstdint>
#include <memory>
#include <string>

namespace gc::serve {

struct ServerOptions {
  std::string bind_address = "127.0.0.1";
  int port = 7878;                   // 0 picks a free port; see Server::port()
  int max_batch = 64;                // images per forward pass, and per PREDICT request
  int max_delay_us = 0;              // wait up to this long for a fuller batch (0: run what is queued);
                                     // the wait ends once every connection the last batch answered
                                     // has sent again
  int max_connections = 1024;        // further connections get OVERLOADED and are closed
  int max_queue = 4096;              // queued PREDICT images; more get OVERLOADED
  int idle_timeout_ms = 30000;       // close a connection without progress this long (0: never)
  int min_frame_bytes_per_s = 65536; // a frame must be whole within idle_timeout_ms of its first
                                     // byte plus its payload at this rate, or the connection is closed
  uint32_t max_payload_bytes = 0;    // 0: 1 MiB, or what max_batch float32 images need if more
  size_t max_output_bytes = 4 << 20; // stop reading a connection whose unread answers exceed this
  std::string reload_token;          // empty: every RELOAD is refused
  bool handle_signals = false;       // SIGTERM/SIGINT drain and stop, SIGHUP reloads the model file
  int http_port = -1;                // -1: no HTTP port, 0: a free port
  size_t http_max_body_bytes = 8 << 20;  // larger HTTP request bodies get 413
  ImagePreprocessor preprocessor;    // for HTTP infers with "preprocess" (none: refused)
  int drain_timeout_ms = 5000;       // at shutdown, the longest to wait for answers to be written
  // TLS on the TCP port and the HTTP endpoint (serve/tls.h): both files or neither.
  std::string tls_cert_file;         // PEM certificate chain, the server's first
  std::string tls_key_file;          // PEM private key
  bool insecure = false;             // allow plaintext on an address other than loopback
  // Candidates beside the live model (docs/SERVING.md, "Canary and shadow models"):
  std::string canary_model_path;     // answers canary_percent of the requests; empty: none
  double canary_percent = 0;         // 0..100, by a hash of the request id (serve/canary.h)
  std::string shadow_model_path;     // also runs shadow_percent of the live batches, answering nobody
  double shadow_percent = 100;       // 0..100, by a hash of the batch's number
};

class Server {
 public:
  // Loads the model and binds the port(s); throws when either fails, and
  // when the address is not a loopback one but neither TLS nor insecure is
  // set. With
  // handle_signals, construct it before starting other threads: it blocks
  // SIGTERM/SIGINT/SIGHUP in the calling thread before it loads the model, so
  // that threads created later (the loader's included) inherit the mask, and
  // reads them from a signalfd.
  Server(ServerOptions options, ModelLoader loader, const std::string& model_path);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int port() const;       // the bound TCP port
  int http_port() const;  // the bound HTTP port, or -1

  // Serves until stop() or a termination signal, then drains: stops
  // accepting, answers every request already received, closes, returns.
  void run();
  // Asks run() to drain and return, from any thread (not from a signal handler).
  void stop();

  const ServerStats& stats() const;

 private:
  class EventLoop;
  std::unique_ptr<EventLoop> loop_;
};

}  // namespace gc::serve
