#include "serve/stats.h"

#include <nlohmann/json.hpp>

#include <bit>
#include <cmath>
#include <sstream>
#include <string_view>

namespace gc::serve {

namespace {
uint64_t load(const std::atomic<uint64_t>& counter) { return counter.load(std::memory_order_relaxed); }
}  // namespace

int LatencyHistogram::bucket_of(uint64_t value) {
  if (value < kSubBuckets) return static_cast<int>(value);
  int exponent = std::bit_width(value) - 1;  // ≥ 4
  int sub = static_cast<int>((value >> (exponent - 4)) & (kSubBuckets - 1));
  int bucket = kSubBuckets + (exponent - 4) * kSubBuckets + sub;
  return bucket < kBuckets ? bucket : kBuckets - 1;
}

uint64_t LatencyHistogram::bucket_upper_edge(int bucket) {
  if (bucket < kSubBuckets) return static_cast<uint64_t>(bucket);
  int exponent = (bucket - kSubBuckets) / kSubBuckets + 4;
  uint64_t sub = (bucket - kSubBuckets) % kSubBuckets;
  uint64_t width = uint64_t{1} << (exponent - 4);
  return ((kSubBuckets + sub) << (exponent - 4)) + width - 1;
}

void LatencyHistogram::record(uint64_t value) {
  buckets_[bucket_of(value)].fetch_add(1, std::memory_order_relaxed);
}

void LatencyHistogram::clear() {
  for (auto& b : buckets_) b.store(0, std::memory_order_relaxed);
}

uint64_t LatencyHistogram::count() const {
  uint64_t total = 0;
  for (const auto& b : buckets_) total += load(b);
  return total;
}

uint64_t LatencyHistogram::percentile(double q) const {
  uint64_t total = count();
  if (total == 0) return 0;
  auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(total)));
  if (rank == 0) rank = 1;
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += load(buckets_[i]);
    if (seen >= rank) return bucket_upper_edge(i);
  }
  return bucket_upper_edge(kBuckets - 1);
}

void BatchSizeHistogram::record(int batch_size) {
  int bucket = batch_size <= 1 ? 0 : std::bit_width(static_cast<unsigned>(batch_size - 1));
  if (bucket >= kBuckets) bucket = kBuckets - 1;
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
}

void ServerStats::count_request(uint16_t type) {
  int index = (type >= 1 && type <= protocol::kMessageTypeCount) ? type - 1 : protocol::kMessageTypeCount;
  requests[index].fetch_add(1, std::memory_order_relaxed);
}

VersionStats& ServerStats::version_stats(int64_t version) {
  VersionStats *unused = nullptr, *retired = nullptr;
  for (VersionStats& slot : by_version) {
    int64_t v = slot.version.load(std::memory_order_relaxed);
    if (v == version) return slot;
    if (v == -1 && !unused) unused = &slot;
    if (v != -1 && std::string_view(role_of(v)) == "retired" &&
        (!retired || load(slot.answers) < load(retired->answers)))
      retired = &slot;
  }
  // With more slots than the two versions served at once, one of the two is always found.
  VersionStats& slot = unused ? *unused : retired ? *retired : by_version.back();
  slot.answers.store(0, std::memory_order_relaxed);
  slot.latency_us.clear();
  slot.version.store(version, std::memory_order_relaxed);
  return slot;
}

const char* ServerStats::role_of(int64_t version) const {
  if (version == model_version.load(std::memory_order_relaxed)) return "live";
  if (version == canary_version.load(std::memory_order_relaxed)) return "canary";
  return "retired";
}

std::string ServerStats::to_json() const {
  using nlohmann::json;
  json j;
  j["uptime_seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  j["model_version"] = model_version.load(std::memory_order_relaxed);
  for (int t = 0; t <= protocol::kMessageTypeCount; ++t)
    j["requests"][protocol::message_type_name(static_cast<uint16_t>(t + 1))] = load(requests[t]);
  for (int s = 1; s < protocol::kStatusCount; ++s)
    j["errors"][protocol::status_name(static_cast<protocol::Status>(s))] = load(errors[s]);
  j["images"] = load(images);
  j["batches"] = load(batches);
  j["batch_size_histogram"] = json::array();
  for (int b = 0; b < BatchSizeHistogram::kBuckets; ++b)
    if (uint64_t n = batch_sizes.bucket_count(b))
      j["batch_size_histogram"].push_back({{"le", BatchSizeHistogram::bucket_upper_bound(b)}, {"count", n}});
  j["latency_us"] = {{"p50", predict_latency_us.percentile(0.50)},
                     {"p90", predict_latency_us.percentile(0.90)},
                     {"p99", predict_latency_us.percentile(0.99)},
                     {"p999", predict_latency_us.percentile(0.999)},
                     {"count", predict_latency_us.count()}};
  j["connections"] = {{"open", load(connections_open)},
                      {"accepted", load(connections_accepted)},
                      {"rejected", load(connections_rejected)},
                      {"timed_out", load(connections_timed_out)},
                      {"frame_timed_out", load(connections_frame_timed_out)},
                      {"tls_failed", load(connections_tls_failed)}};
  j["non_finite_answers"] = load(non_finite_answers);
  j["reloads"] = {{"ok", load(reloads_ok)},
                  {"failed", load(reloads_failed)},
                  {"untrusted_model", load(reloads_untrusted)},
                  {"bad_token", load(reloads_bad_token)},
                  {"roll_backs", load(roll_backs)}};
  j["versions"] = json::array();
  for (const VersionStats& slot : by_version) {
    int64_t v = slot.version.load(std::memory_order_relaxed);
    if (v == -1) continue;
    j["versions"].push_back({{"version", v},
                             {"role", role_of(v)},
                             {"answers", load(slot.answers)},
                             {"latency_us",
                              {{"p50", slot.latency_us.percentile(0.50)},
                               {"p99", slot.latency_us.percentile(0.99)},
                               {"count", slot.latency_us.count()}}}});
  }
  j["canary"] = {{"version", canary_version.load(std::memory_order_relaxed)}, {"percent", canary_percent}};
  int64_t shadow_version = shadow.version.load(std::memory_order_relaxed);
  if (shadow_version >= 0) {
    uint64_t compared = load(shadow.images_compared), agreed = load(shadow.images_agreed);
    json by_class = json::array();
    for (const Counter& n : shadow.disagreements_by_live_class) by_class.push_back(load(n));
    j["shadow"] = {{"version", shadow_version},
                   {"batches_offered", load(shadow.batches_offered)},
                   {"batches_dropped", load(shadow.batches_dropped)},
                   {"batches_failed", load(shadow.batches_failed)},
                   {"images_compared", compared},
                   {"images_agreed", agreed},
                   {"agreement", compared ? static_cast<double>(agreed) / static_cast<double>(compared) : 1.0},
                   {"disagreements_by_live_class", by_class},
                   {"latency_us",
                    {{"p50", shadow.latency_us.percentile(0.50)},
                     {"p99", shadow.latency_us.percentile(0.99)},
                     {"count", shadow.latency_us.count()}}}};
  }
  j["http"]["requests"] = load(http_requests);
  for (int k = 2; k <= 5; ++k) j["http"]["responses"][std::to_string(k) + "xx"] = load(http_responses[k]);
  return j.dump();
}

std::string ServerStats::to_prometheus() const {
  std::ostringstream out;
  auto metric = [&](const char* name, const char* type, const char* help) {
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
  };
  metric("gradcore_requests_total", "counter", "Requests received, by type.");
  for (int t = 0; t <= protocol::kMessageTypeCount; ++t)
    out << "gradcore_requests_total{type=\"" << protocol::message_type_name(static_cast<uint16_t>(t + 1))
        << "\"} " << load(requests[t]) << '\n';
  metric("gradcore_errors_total", "counter", "Error responses sent, by status.");
  for (int s = 1; s < protocol::kStatusCount; ++s)
    out << "gradcore_errors_total{status=\"" << protocol::status_name(static_cast<protocol::Status>(s)) << "\"} "
        << load(errors[s]) << '\n';
  metric("gradcore_images_total", "counter", "Images classified.");
  out << "gradcore_images_total " << load(images) << '\n';
  metric("gradcore_batch_size", "histogram", "Images per forward pass.");
  uint64_t cumulative = 0, batch_images = 0;
  for (int b = 0; b < BatchSizeHistogram::kBuckets; ++b) {
    cumulative += batch_sizes.bucket_count(b);
    out << "gradcore_batch_size_bucket{le=\"" << BatchSizeHistogram::bucket_upper_bound(b) << "\"} " << cumulative
        << '\n';
  }
  batch_images = load(images);
  out << "gradcore_batch_size_bucket{le=\"+Inf\"} " << cumulative << '\n'
      << "gradcore_batch_size_sum " << batch_images << '\n'
      << "gradcore_batch_size_count " << cumulative << '\n';
  metric("gradcore_predict_latency_seconds", "summary", "PREDICT time from read to written answer.");
  for (double q : {0.5, 0.9, 0.99, 0.999})
    out << "gradcore_predict_latency_seconds{quantile=\"" << q << "\"} "
        << static_cast<double>(predict_latency_us.percentile(q)) * 1e-6 << '\n';
  out << "gradcore_predict_latency_seconds_count " << predict_latency_us.count() << '\n';
  metric("gradcore_connections_open", "gauge", "Open client connections.");
  out << "gradcore_connections_open " << load(connections_open) << '\n';
  metric("gradcore_connections_total", "counter", "Connections by outcome.");
  out << "gradcore_connections_total{outcome=\"accepted\"} " << load(connections_accepted) << '\n'
      << "gradcore_connections_total{outcome=\"rejected\"} " << load(connections_rejected) << '\n'
      << "gradcore_connections_total{outcome=\"timed_out\"} " << load(connections_timed_out) << '\n'
      << "gradcore_connections_total{outcome=\"frame_timed_out\"} " << load(connections_frame_timed_out) << '\n'
      << "gradcore_connections_total{outcome=\"tls_failed\"} " << load(connections_tls_failed) << '\n';
  metric("gradcore_non_finite_answers_total", "counter",
         "PREDICTs answered INTERNAL because the model gave a NaN or infinite logit.");
  out << "gradcore_non_finite_answers_total " << load(non_finite_answers) << '\n';
  metric("gradcore_reloads_total", "counter", "RELOAD requests and SIGHUP reloads by outcome (roll backs included).");
  out << "gradcore_reloads_total{outcome=\"ok\"} " << load(reloads_ok) << '\n'
      << "gradcore_reloads_total{outcome=\"failed\"} " << load(reloads_failed) << '\n'
      << "gradcore_reloads_total{outcome=\"untrusted_model\"} " << load(reloads_untrusted) << '\n'
      << "gradcore_reloads_total{outcome=\"bad_token\"} " << load(reloads_bad_token) << '\n';
  metric("gradcore_roll_backs_total", "counter", "RELOADs that rolled back to the previous model.");
  out << "gradcore_roll_backs_total " << load(roll_backs) << '\n';
  metric("gradcore_http_requests_total", "counter", "Requests on the HTTP port.");
  out << "gradcore_http_requests_total " << load(http_requests) << '\n';
  metric("gradcore_http_responses_total", "counter", "Responses on the HTTP port, by status class.");
  for (int k = 2; k <= 5; ++k)
    out << "gradcore_http_responses_total{code=\"" << k << "xx\"} " << load(http_responses[k]) << '\n';
  metric("gradcore_version_answers_total", "counter", "Answers by model version; role live, canary or retired.");
  for (const VersionStats& slot : by_version)
    if (int64_t v = slot.version.load(std::memory_order_relaxed); v != -1)
      out << "gradcore_version_answers_total{version=\"" << v << "\",role=\"" << role_of(v) << "\"} "
          << load(slot.answers) << '\n';
  metric("gradcore_version_latency_seconds", "summary", "PREDICT time from read to written answer, by model version.");
  for (const VersionStats& slot : by_version) {
    int64_t v = slot.version.load(std::memory_order_relaxed);
    if (v == -1) continue;
    for (double q : {0.5, 0.99})
      out << "gradcore_version_latency_seconds{version=\"" << v << "\",quantile=\"" << q << "\"} "
          << static_cast<double>(slot.latency_us.percentile(q)) * 1e-6 << '\n';
    out << "gradcore_version_latency_seconds_count{version=\"" << v << "\"} " << slot.latency_us.count() << '\n';
  }
  if (shadow.version.load(std::memory_order_relaxed) >= 0) {
    metric("gradcore_shadow_batches_total", "counter", "Batches sampled for the shadow model, by outcome.");
    uint64_t offered = load(shadow.batches_offered), dropped = load(shadow.batches_dropped);
    out << "gradcore_shadow_batches_total{outcome=\"offered\"} " << offered << '\n'
        << "gradcore_shadow_batches_total{outcome=\"dropped\"} " << dropped << '\n'
        << "gradcore_shadow_batches_total{outcome=\"failed\"} " << load(shadow.batches_failed) << '\n';
    metric("gradcore_shadow_images_total", "counter", "Images the shadow model answered, and those where it agreed.");
    out << "gradcore_shadow_images_total{outcome=\"compared\"} " << load(shadow.images_compared) << '\n'
        << "gradcore_shadow_images_total{outcome=\"agreed\"} " << load(shadow.images_agreed) << '\n';
    metric("gradcore_shadow_disagreements_total", "counter",
           "Images where the shadow's top class differed from the live model's, by the live class.");
    for (size_t k = 0; k < shadow.disagreements_by_live_class.size(); ++k)
      out << "gradcore_shadow_disagreements_total{live_class=\"" << k << "\"} "
          << load(shadow.disagreements_by_live_class[k]) << '\n';
    metric("gradcore_shadow_latency_seconds", "summary", "The shadow model's forward pass per batch.");
    for (double q : {0.5, 0.99})
      out << "gradcore_shadow_latency_seconds{quantile=\"" << q << "\"} "
          << static_cast<double>(shadow.latency_us.percentile(q)) * 1e-6 << '\n';
    out << "gradcore_shadow_latency_seconds_count " << shadow.latency_us.count() << '\n';
    metric("gradcore_shadow_model_version", "gauge", "Version of the shadow model.");
    out << "gradcore_shadow_model_version " << shadow.version.load(std::memory_order_relaxed) << '\n';
  }
  metric("gradcore_canary_model_version", "gauge", "Version of the canary model (-1: none).");
  out << "gradcore_canary_model_version " << canary_version.load(std::memory_order_relaxed) << '\n';
  metric("gradcore_model_version", "gauge", "Version of the model now serving.");
  out << "gradcore_model_version " << model_version.load(std::memory_order_relaxed) << '\n';
  return out.str();
}

}  // namespace gc::serve
