// Server counters and histograms. Written by the I/O thread, read by STATS,
// /metrics and any thread holding Server::stats(): every cell is a relaxed
// atomic, so a reader sees each number exact but the set of them from
// slightly different moments.
#pragma once

#include "serve/protocol.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace gc::serve {

// Log-linear histogram of non-negative integers (microseconds): values below
// 16 get a bucket each, above that every power of two is split into 16
// buckets, so a reported percentile is within 1/16 of the true value.
class LatencyHistogram {
 public:
  static constexpr int kSubBuckets = 16;
  static constexpr int kBuckets = kSubBuckets + 60 * kSubBuckets;

  void record(uint64_t value);
  void clear();
  uint64_t count() const;
  // The upper edge of the bucket holding the q-th quantile (0 < q ≤ 1); 0
  // when nothing was recorded.
  uint64_t percentile(double q) const;

  static int bucket_of(uint64_t value);
  static uint64_t bucket_upper_edge(int bucket);

 private:
  std::array<std::atomic<uint64_t>, kBuckets> buckets_{};
};

// Batch sizes in power-of-two buckets: 1, 2, 3-4, 5-8, ... 32769-65536.
class BatchSizeHistogram {
 public:
  static constexpr int kBuckets = 17;
  void record(int batch_size);
  uint64_t bucket_count(int bucket) const { return buckets_[bucket].load(std::memory_order_relaxed); }
  static int bucket_upper_bound(int bucket) { return 1 << bucket; }

 private:
  std::array<std::atomic<uint64_t>, kBuckets> buckets_{};
};

using Counter = std::atomic<uint64_t>;

// The answers one model version gave (the live model's, a canary's, or one
// a reload has since replaced) and their latency. version -1: a free slot.
struct VersionStats {
  std::atomic<int64_t> version{-1};
  Counter answers{0};  // PREDICTs and HTTP infers, errors from the batch included
  LatencyHistogram latency_us;
};

// The shadow model (serve/shadow.h): what it was offered and how its answers
// compared with the live model's, image by image (the top class).
struct ShadowStats {
  std::atomic<int64_t> version{-1};  // -1: no shadow model
  Counter batches_offered{0};
  Counter batches_dropped{0};  // its queue was full: the live answers went out without it
  Counter batches_failed{0};   // its forward pass threw, or shapes no longer match
  Counter images_compared{0};
  Counter images_agreed{0};
  // By the live model's class: images where the shadow's top class differed.
  // Sized once, before the server runs, to the live model's class count.
  std::vector<Counter> disagreements_by_live_class;
  LatencyHistogram latency_us;  // the shadow's forward pass per batch
};

struct ServerStats {
  static constexpr int kVersionSlots = 4;

  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::array<Counter, protocol::kMessageTypeCount + 1> requests{};  // by type, the last for unknown
  std::array<Counter, protocol::kStatusCount> errors{};             // by status
  Counter images{0};
  Counter batches{0};
  BatchSizeHistogram batch_sizes;
  LatencyHistogram predict_latency_us;
  Counter connections_open{0};
  Counter connections_accepted{0};
  Counter connections_rejected{0};
  Counter connections_timed_out{0};        // no progress for idle_timeout_ms
  Counter connections_frame_timed_out{0};  // a frame not whole by its deadline
  Counter connections_tls_failed{0};       // the TLS handshake failed or the peer left during it
  Counter non_finite_answers{0};           // PREDICTs answered INTERNAL: the model gave NaN or inf
  Counter reloads_ok{0};
  Counter reloads_failed{0};     // the file could not be loaded
  Counter reloads_untrusted{0};  // refused: unsigned, tampered or untrusted signer
  Counter reloads_bad_token{0};  // RELOAD with a wrong token, or none configured
  Counter roll_backs{0};
  // The HTTP port: requests, and responses by status class ([2]: 2xx ... [5]: 5xx).
  // Infer requests count as PREDICT in `requests` too, images and latency alike.
  Counter http_requests{0};
  std::array<Counter, 6> http_responses{};
  std::atomic<int64_t> model_version{0};
  std::atomic<int64_t> canary_version{-1};  // -1: no canary
  double canary_percent = 0;                // set before the server runs
  std::array<VersionStats, kVersionSlots> by_version;
  ShadowStats shadow;
  std::atomic<bool> draining{false};

  // The slot counting `version`'s answers, from the I/O thread only: its
  // own, else a free one, else the one of the fewest answers among the
  // versions no longer served, cleared for it.
  VersionStats& version_stats(int64_t version);
  const char* role_of(int64_t version) const;  // "live", "canary" or "retired"

  void count_request(uint16_t type);
  void count_http_response(int status) {
    http_responses[std::clamp(status / 100, 0, 5)].fetch_add(1, std::memory_order_relaxed);
  }
  void count_error(protocol::Status status) {
    errors[static_cast<int>(status)].fetch_add(1, std::memory_order_relaxed);
  }

  std::string to_json() const;        // the STATS payload, see docs/PROTOCOL.md
  std::string to_prometheus() const;  // text exposition format 0.0.4
};

}  // namespace gc::serve
