// Internal to the server: the state and members of Server::EventLoop,
// implemented in server.cpp (setup, the loop, connections), tcp_requests.cpp
// (the TCP protocol's requests, reloads), http_routes.cpp (the HTTP port's
// requests) and batching.cpp (dynamic batching). Not for other includers.
#pragma once

#include "serve/connection.h"
#include "serve/http_infer.h"
#include "serve/http_request.h"
#include "serve/http_response.h"
#include "serve/model_registry.h"
#include "serve/protocol.h"
#include "serve/server.h"
#include "serve/shadow.h"
#include "serve/tls.h"

#include <sys/epoll.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace gc::serve {

// epoll user data: small ids for the server's own descriptors, connection ids above.
constexpr uint64_t kListenId = 0;
constexpr uint64_t kWakeId = 1;
constexpr uint64_t kSignalId = 2;
constexpr uint64_t kHttpListenId = 3;
constexpr uint64_t kFirstConnectionId = 16;

inline uint16_t response_type(protocol::MessageType type) {
  return static_cast<uint16_t>(type) | protocol::kResponseBit;
}

// The values a float32 PREDICT (an FP32 infer) may send: what normalising
// 0..255 gives, widened by 1% of that span on each side for the client's own
// rounding. Anything further out is no normalised image, and could overflow
// the model's arithmetic into a non-finite answer.
struct Float32Range {
  double low, high;
};

inline Float32Range float32_range(const Normalisation& n) {
  double a = n.apply(0), b = n.apply(255);
  double margin = 0.01 * std::abs(b - a);
  return {std::min(a, b) - margin, std::max(a, b) + margin};
}

struct QueuedPredict {
  uint64_t connection_id;
  uint64_t request_id;
  protocol::PixelFormat format;
  bool want_logits;
  int count;
  std::vector<uint8_t> pixels;
  Clock::time_point received;
  std::shared_ptr<const HttpInferAsk> http;  // an HTTP infer request; null for a TCP PREDICT
  bool canary = false;  // in the canary's share (serve/canary.h)
};

// An answer queued for writing: its latency is recorded once written.
struct AnswerReceipt {
  Clock::time_point received;
  VersionStats* version;  // the slot of the version that answered
};

// Who asked for the load that is running: a connection, or SIGHUP.
struct PendingReload {
  uint64_t connection_id = 0;
  uint64_t request_id = 0;
  bool from_signal = false;
  std::string peer;  // for the audit line: the connection's address, or "SIGHUP"
  bool http = false;  // the connection asked over HTTP
};

class Server::EventLoop {
 public:
  EventLoop(ServerOptions options, ModelLoader loader, const std::string& model_path);
  ~EventLoop();

  void run();
  void stop() {
    stop_requested_.store(true);
    wake();
  }

  int port = 0;
  int http_port = -1;
  ServerStats stats;

 private:
  // ---- events
  void handle_event(const epoll_event& event);
  int wait_for_events(std::vector<epoll_event>& events);
  void poll_once(std::vector<epoll_event>& events);  // wait for events, then handle them
  // poll_once until a batch is due to run, the model's other threads asleep.
  void gather_with_threads_parked(std::vector<epoll_event>& events);
  void wake();
  void drain_wake_fd();
  void handle_signals();
  void accept_connections(bool http);  // from the HTTP port, or the TCP port
  void read_from(Connection& c);
  bool send_pending(Connection& c);  // writes what it can; false on a write error
  void finish_write(Connection& c);  // compacts the output buffer, then settles
  void settle(Connection& c);  // closes a finished connection, else updates what epoll watches
  // reason: for the log line, none for an orderly close; error: what failed, if anything.
  void close_connection(Connection& c, const char* reason, const std::string& error = {});
  void check_timeouts();
  // When the connection's partial frame must be whole; nullopt without one being read.
  std::optional<Clock::time_point> frame_deadline(const Connection& c) const;
  void begin_drain();
  Connection* find(uint64_t id);

  // ---- requests
  void parse_frames(Connection& c);
  void handle_request(Connection& c, const protocol::FrameHeader& header, std::span<const uint8_t> payload);
  void handle_predict(Connection& c, uint64_t request_id, std::span<const uint8_t> payload);
  void handle_reload(Connection& c, uint64_t request_id, std::span<const uint8_t> payload);
  // Why a reload (action "load" or "roll_back") with this token is refused, after counting and logging it; null: allowed.
  const char* reload_refusal(const std::string& token, const char* action, const std::string& peer,
                             const std::string& path);
  bool roll_back_model(const std::string& peer);  // false: no previous model
  void start_reload_from_signal();
  void finish_reload();
  void reply_error(Connection& c, uint16_t type, uint64_t request_id, protocol::Status status, const std::string& message);
  std::string info_json() const;

  // ---- the HTTP port (http_routes.cpp, http_admin.cpp)
  void parse_http_requests(Connection& c);
  void handle_http_request(Connection& c, const HttpRequest& request);
  // Queues a response; it closes the connection once written when the
  // connection takes no more requests (http_done).
  void reply_http(Connection& c, int status, std::string_view body, std::string_view content_type = kJson,
                  size_t inference_header_bytes = 0);
  void reply_http_error(Connection& c, int status, const std::string& message);
  void handle_http_model_route(Connection& c, const HttpRequest& request, const std::vector<std::string_view>& parts);
  void handle_http_infer(Connection& c, const HttpRequest& request, const ServingModel& model, int64_t pinned);
  void handle_http_admin(Connection& c, const HttpRequest& request, const std::vector<std::string_view>& parts);
  // The model that version names (current, canary or previous), or null.
  const ServingModel* http_model(std::string_view name, std::optional<int64_t> version) const;
  std::string http_model_metadata(const ServingModel& model) const;
  void answer_http_predict(Connection& c, const QueuedPredict& request, const ServingModel& model,
                           const float* logits, const std::string& failure);
  void resume_http(Connection& c);  // its answer is queued: take its next pipelined request

  // ---- canary and shadow models (canary.cpp)
  void load_candidates(const ModelLoader& loader);  // the canary and the shadow of options_, if any
  bool in_canary_share(uint64_t key) const;  // whether a request with this key goes to the canary
  // Hands a sample of the live model's batches to the shadow: `images`
  // normalised images in batch_images_, their logits in batch_logits_.
  void offer_to_shadow(const ServingModel& live, int images);
  // After a reload made `live` current: a canary or shadow of its version has been promoted, and stops.
  void retire_promoted_candidates(const ServingModel& live);

  // ---- batching
  // The model a queued request runs on: the canary for a request in its
  // share, else the current one, or the version it was pinned to if that is
  // the canary or the previous one; null when none is.
  const ServingModel* model_for(const QueuedPredict& request) const;
  void run_batches(bool run_all);
  bool batch_should_wait() const;  // the front of a non-empty queue may wait for a fuller batch
  void run_one_batch();
  void append_prediction(Connection& c, const QueuedPredict& request, const ServingModel& model,
                         const float* logits);
  static int first_non_finite_image(const float* logits, int count, int classes);
  void refuse_non_finite(Connection& c, const QueuedPredict& request, int image, int64_t model_version);
  void queue_flush(Connection& c);
  void start_awaiting(Connection& c);  // the running batch answered c
  void stop_awaiting(Connection& c);   // c sent a PREDICT, or closed
  void flush_queued();

  ServerOptions options_;
  std::unique_ptr<ModelRegistry> registry_;
  std::optional<ServingModel> canary_;
  std::unique_ptr<ShadowRunner> shadow_;  // after stats: stops before the counters it writes go
  uint64_t http_infers_ = 0;  // HTTP infers so far: their key for the canary's share
  std::unique_ptr<tls::Context> tls_;  // null: plaintext
  uint32_t max_payload_ = 0;
  int epoll_fd_ = -1, listen_fd_ = -1, http_listen_fd_ = -1, wake_fd_ = -1, signal_fd_ = -1;
  HttpLimits http_limits_;

  std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections_;
  uint64_t next_connection_id_ = kFirstConnectionId;
  std::vector<uint64_t> flush_list_;
  std::vector<Connection*> writing_;  // flush_queued's connections, and which failed
  std::vector<char> write_failed_;

  std::deque<QueuedPredict> queue_;
  int queued_images_ = 0;
  // Batches run so far, and how many connections the last one answered
  // that have not sent a PREDICT since: a batch waiting for max_delay stops
  // waiting once none is left (closed-loop clients have all sent again).
  uint64_t batches_run_ = 0;
  int awaited_ = 0;
  std::vector<float> batch_images_, batch_logits_, probabilities_;
  std::vector<AnswerReceipt> answered_receipts_;  // latencies to record once written
  std::vector<uint64_t> http_answered_;  // HTTP connections the running batch answered

  std::optional<PendingReload> pending_reload_;
  std::atomic<bool> stop_requested_{false};
  bool draining_ = false;
  Clock::time_point now_ = Clock::now();
  Clock::time_point drain_deadline_{};
  Clock::time_point next_timeout_check_{};
  Clock::time_point accept_paused_until_{};
};

}  // namespace gc::serve
