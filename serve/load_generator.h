// Load generator for the serving protocol: many connections, each keeping a
// fixed number of PREDICT requests in flight, driven with epoll from one
// thread or, with threads > 1, split among that many (the server usually
// shares the machine, and one client thread's turnaround can be what the
// server waits for). Checks every answer: the
// request id must be one this connection is waiting for, the status OK, the
// image count right, and the class the expected one when expected classes
// are given.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace gc::serve {

struct LoadOptions {
  std::string host = "127.0.0.1";
  int port = 7878;
  int connections = 64;
  int inflight = 1;         // requests outstanding per connection
  double duration_s = 10;   // sending stops after this; answers are awaited up to drain_timeout_s more
  double drain_timeout_s = 5;
  int batch = 1;            // images per request
  int threads = 1;          // client threads, each with its share of the connections
  bool want_logits = false;
  bool tls = false;         // connect with TLS (serve/tls.h), trusting tls_ca_file or the system's CAs
  std::string tls_ca_file;
  // A connection the server (or a balancer in front of it) closes is opened
  // again and its unanswered requests are sent again, with their ids: PREDICT
  // is idempotent. Without it such a connection counts as failed.
  bool reconnect = false;
  // uint8 images, image_pixels each; requests take them in turn.
  std::vector<uint8_t> images;
  int image_pixels = 784;
  std::array<int, 3> shape{1, 28, 28};
  std::vector<int> expected_classes;  // per image, or empty: an answer with another class is wrong
  std::vector<int> labels;            // per image, or empty: only counted, a model can be wrong
};

struct LoadReport {
  double seconds = 0;               // from first send to last answer
  uint64_t requests_sent = 0;
  uint64_t requests_ok = 0;
  uint64_t images_ok = 0;
  uint64_t wrong_answers = 0;       // class differs from expected_classes
  uint64_t unmatched_ids = 0;       // an answer for a request id not outstanding
  uint64_t lost = 0;                // outstanding when a connection closed or the drain timed out
  uint64_t connection_failures = 0; // connections that failed or were closed by the server, not reopened
  uint64_t reconnects = 0;          // connections reopened (reconnect option)
  uint64_t resent = 0;              // requests sent again on a reopened connection
  std::map<int64_t, uint64_t> ok_by_version;  // OK answers by the model version that gave them
  std::map<std::string, uint64_t> errors;  // error answers by status name
  uint64_t label_checked = 0, label_matches = 0;
  double p50_us = 0, p90_us = 0, p99_us = 0, p999_us = 0;
  // CPU this process spent while loading (all its threads): the clients'
  // share of the cores when they run beside the server.
  double client_user_s = 0, client_system_s = 0;

  uint64_t error_total() const;
  // Everything that means the server answered wrongly or not at all.
  uint64_t failures() const { return error_total() + wrong_answers + unmatched_ids + lost + connection_failures; }
  double requests_per_second() const { return seconds > 0 ? requests_ok / seconds : 0; }
  double images_per_second() const { return seconds > 0 ? images_ok / seconds : 0; }
};

// Throws when options are invalid or no connection can be made at all.
LoadReport run_load(const LoadOptions& options);

std::string format_report(const LoadReport& report);

}  // namespace gc::serve
