#include "serve/load_generator.h"

#include "serve/client.h"
#include "serve/protocol.h"
#include "serve/stats.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/resource.h>

#include <algorithm>
#include <exception>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace gc::serve {

namespace {

using Clock = std::chrono::steady_clock;

struct Outstanding {
  uint64_t request_id;
  size_t first_image;
  Clock::time_point sent;
};

struct LoadConnection {
  std::unique_ptr<Client> client;
  std::vector<uint8_t> output;
  size_t output_sent = 0;
  std::vector<uint8_t> input;
  std::vector<Outstanding> outstanding;
  bool watching_out = false;  // epoll watches EPOLLOUT too
  bool read_wants_write = false;  // TLS: the last read stopped until the socket is writable
  bool alive = true;
};

void validate(const LoadOptions& options) {
  if (options.connections < 1 || options.inflight < 1 || options.batch < 1 || options.batch > 65535 ||
      options.duration_s <= 0 || options.threads < 1)
    throw std::invalid_argument("connections, inflight, batch, duration and threads must be positive");
  const size_t image_count = options.images.size() / options.image_pixels;
  if (image_count == 0 || options.images.size() % options.image_pixels != 0)
    throw std::invalid_argument("images must hold a whole number of images, at least one");
  if (!options.expected_classes.empty() && options.expected_classes.size() != image_count)
    throw std::invalid_argument("expected_classes must have one entry per image");
  if (!options.labels.empty() && options.labels.size() != image_count)
    throw std::invalid_argument("labels must have one entry per image");
}

// One thread's share of the load: its connections, on its own epoll set,
// recording latencies into the histogram all threads share (its cells are
// atomic).
class LoadRun {
 public:
  LoadRun(const LoadOptions& options, const tls::Context* tls, int connections, uint64_t first_request,
          LatencyHistogram& latency_us)
      : options_(options),
        tls_(tls),
        image_count_(options.images.size() / options.image_pixels),
        next_image_(first_request),
        latency_us_(latency_us) {
    connect_all(connections);
  }

  // Sends from `start` for the options' duration; the report's seconds run
  // from `start` to this thread's last answer, and it has no percentiles.
  LoadReport run(Clock::time_point start) {
    auto stop_sending = start + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(options_.duration_s));
    auto give_up = stop_sending + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(options_.drain_timeout_s));
    for (auto& c : connections_) top_up(c);
    std::vector<epoll_event> events(256);
    for (;;) {
      auto now = Clock::now();
      sending_ = now < stop_sending;
      if ((!sending_ && outstanding_total() == 0) || now >= give_up) break;
      int n = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), 5);
      for (int i = 0; i < n; ++i) {
        LoadConnection& c = connections_[events[i].data.u64];
        if (!c.alive) continue;
        if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR) || (c.read_wants_write && (events[i].events & EPOLLOUT)))
          read_answers(c);
        if (c.alive && (events[i].events & EPOLLOUT)) flush(c);
      }
    }
    report_.seconds = std::chrono::duration<double>(last_answer_ - start).count();
    for (auto& c : connections_) report_.lost += c.outstanding.size();
    return report_;
  }

  ~LoadRun() { ::close(epoll_fd_); }

 private:
  // With TLS every handshake is done here, before the clock starts.
  void connect_all(int connections) {
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    connections_.resize(connections);
    for (size_t i = 0; i < connections_.size(); ++i) {
      auto& c = connections_[i];
      c.client = std::make_unique<Client>(options_.host, options_.port, 10000, tls_);
      watch(c);
    }
  }

  size_t outstanding_total() const {
    size_t total = 0;
    for (const auto& c : connections_) total += c.alive ? c.outstanding.size() : 0;
    return total;
  }

  void watch(LoadConnection& c) {
    fcntl(c.client->fd(), F_SETFL, fcntl(c.client->fd(), F_GETFL) | O_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = static_cast<uint64_t>(&c - connections_.data());
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c.client->fd(), &ev);
    c.watching_out = false;
    c.read_wants_write = false;
  }

  // Appends the PREDICT for images first, first + 1, ... to c's output.
  void append_request(LoadConnection& c, uint64_t id, size_t first) {
    batch_pixels_.clear();
    for (int k = 0; k < options_.batch; ++k) {
      size_t image = (first + k) % image_count_;
      auto begin = options_.images.begin() + static_cast<std::ptrdiff_t>(image * options_.image_pixels);
      batch_pixels_.insert(batch_pixels_.end(), begin, begin + options_.image_pixels);
    }
    protocol::append_predict_request(c.output, id, protocol::PixelFormat::uint8, options_.want_logits,
                                     options_.batch, options_.shape, batch_pixels_);
  }

  void top_up(LoadConnection& c) {
    if (!sending_ || !c.alive) return;
    bool added = false;
    while (c.outstanding.size() < static_cast<size_t>(options_.inflight)) {
      size_t first = (next_image_ * options_.batch) % image_count_;
      ++next_image_;
      uint64_t id = next_request_id_++;
      append_request(c, id, first);
      c.outstanding.push_back({id, first, Clock::now()});
      ++report_.requests_sent;
      added = true;
    }
    if (added || !c.output.empty()) flush(c);
  }

  // A TLS write that wants a read (renegotiation, which serve/tls.cpp turns
  // off) waits for the next answer to be read, like a full socket.
  void flush(LoadConnection& c) {
    while (c.output_sent < c.output.size()) {
      IoResult r = c.client->write_some(c.output.data() + c.output_sent, c.output.size() - c.output_sent);
      if (r.state == IoState::ok) {
        c.output_sent += r.bytes;
      } else if (r.state == IoState::failed) {
        return fail(c);
      } else {
        break;
      }
    }
    if (c.output_sent == c.output.size()) {
      c.output.clear();
      c.output_sent = 0;
    }
    // Watch for room to write only while output is left; epoll_ctl only
    // when that changes (a call per request was a third of our syscalls).
    const bool want_out = !c.output.empty() || c.read_wants_write;
    if (want_out == c.watching_out) return;
    c.watching_out = want_out;
    epoll_event ev{};
    ev.events = EPOLLIN | (want_out ? static_cast<uint32_t>(EPOLLOUT) : 0u);
    ev.data.u64 = static_cast<uint64_t>(&c - connections_.data());
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.client->fd(), &ev);
  }

  void fail(LoadConnection& c) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.client->fd(), nullptr);
    if (options_.reconnect && (sending_ || !c.outstanding.empty()) && reopen(c)) return;
    c.alive = false;
    ++report_.connection_failures;
  }

  // Opens c again (a few tries over about a second: a balancer may need a
  // moment to route elsewhere) and sends its unanswered requests again; their
  // latency still counts from the first send. False when no connection could
  // be made.
  bool reopen(LoadConnection& c) {
    constexpr int kTries = 50;
    constexpr auto kPause = std::chrono::milliseconds(20);
    c.client.reset();
    for (int attempt = 0; attempt < kTries && !c.client; ++attempt) {
      try {
        c.client = std::make_unique<Client>(options_.host, options_.port, 10000, tls_);
      } catch (const std::exception&) {
        std::this_thread::sleep_for(kPause);
      }
    }
    if (!c.client) return false;
    ++report_.reconnects;
    c.input.clear();
    c.output.clear();
    c.output_sent = 0;
    watch(c);
    for (const Outstanding& o : c.outstanding) append_request(c, o.request_id, o.first_image);
    report_.resent += c.outstanding.size();
    flush(c);
    return true;
  }

  // A short read has emptied the socket, or the TLS session: whatever the
  // socket still holds then, epoll reports again.
  void read_answers(LoadConnection& c) {
    uint8_t chunk[64 * 1024];
    const bool wanted_write = c.read_wants_write;
    c.read_wants_write = false;
    for (;;) {
      IoResult r = c.client->read_some(chunk, sizeof chunk);
      if (r.state == IoState::ok) {
        c.input.insert(c.input.end(), chunk, chunk + r.bytes);
        if (r.bytes < sizeof chunk) break;
      } else if (r.state == IoState::want_read) {
        break;
      } else if (r.state == IoState::want_write) {
        c.read_wants_write = true;
        break;
      } else {
        parse_answers(c);
        return fail(c);
      }
    }
    parse_answers(c);
    top_up(c);
    if (c.alive && wanted_write != c.read_wants_write) flush(c);  // updates what epoll watches
  }

  void parse_answers(LoadConnection& c) {
    size_t offset = 0;
    for (;;) {
      std::span<const uint8_t> bytes(c.input.data() + offset, c.input.size() - offset);
      auto parsed = protocol::parse_header(bytes, Client::kMaxResponsePayload);
      if (parsed.state == protocol::HeaderParse::State::framing_error) {
        c.input.clear();
        return fail(c);
      }
      if (parsed.state == protocol::HeaderParse::State::need_more) break;
      size_t frame = protocol::kHeaderSize + parsed.header.payload_length;
      if (bytes.size() < frame) break;
      check_answer(c, parsed.header, bytes.subspan(protocol::kHeaderSize, parsed.header.payload_length));
      offset += frame;
    }
    c.input.erase(c.input.begin(), c.input.begin() + static_cast<std::ptrdiff_t>(offset));
  }

  void check_answer(LoadConnection& c, const protocol::FrameHeader& header, std::span<const uint8_t> payload) {
    auto now = Clock::now();
    last_answer_ = now;
    auto it = std::find_if(c.outstanding.begin(), c.outstanding.end(),
                           [&](const Outstanding& o) { return o.request_id == header.request_id; });
    if (it == c.outstanding.end()) {
      ++report_.unmatched_ids;
      return;
    }
    Outstanding request = *it;
    c.outstanding.erase(it);
    latency_us_.record(static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(now - request.sent).count()));
    auto response = protocol::decode_predict_response(payload);
    if (!response) {
      ++report_.errors["MALFORMED_RESPONSE"];
      return;
    }
    if (response->status != protocol::Status::ok) {
      ++report_.errors[protocol::status_name(response->status)];
      return;
    }
    if (response->predictions.size() != static_cast<size_t>(options_.batch)) {
      ++report_.wrong_answers;
      return;
    }
    bool all_right = true;
    for (int k = 0; k < options_.batch; ++k) {
      size_t image = (request.first_image + k) % image_count_;
      int predicted = response->predictions[k].predicted_class;
      if (!options_.expected_classes.empty() && predicted != options_.expected_classes[image]) all_right = false;
      if (!options_.labels.empty()) {
        ++report_.label_checked;
        report_.label_matches += predicted == options_.labels[image];
      }
    }
    if (!all_right) {
      ++report_.wrong_answers;
      return;
    }
    ++report_.requests_ok;
    report_.images_ok += options_.batch;
    ++report_.ok_by_version[response->model_version];
  }

  const LoadOptions& options_;
  const tls::Context* tls_;  // null: plaintext
  size_t image_count_;
  int epoll_fd_ = -1;
  std::vector<LoadConnection> connections_;
  bool sending_ = true;
  uint64_t next_request_id_ = 1;
  uint64_t next_image_;  // the request count that picks the next request's images
  std::vector<uint8_t> batch_pixels_;
  Clock::time_point last_answer_ = Clock::now();
  LatencyHistogram& latency_us_;
  LoadReport report_;
};

struct CpuTimes {
  double user_s, system_s;
};

CpuTimes process_cpu_times() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_usec); };
  return {seconds(usage.ru_utime), seconds(usage.ru_stime)};
}

double per_request_us(double seconds, uint64_t requests) {
  return requests > 0 ? 1e6 * seconds / static_cast<double>(requests) : 0;
}

void add_counts(LoadReport& total, const LoadReport& part) {
  total.seconds = std::max(total.seconds, part.seconds);
  total.requests_sent += part.requests_sent;
  total.requests_ok += part.requests_ok;
  total.images_ok += part.images_ok;
  total.wrong_answers += part.wrong_answers;
  total.unmatched_ids += part.unmatched_ids;
  total.lost += part.lost;
  total.connection_failures += part.connection_failures;
  total.reconnects += part.reconnects;
  total.resent += part.resent;
  for (const auto& [version, count] : part.ok_by_version) total.ok_by_version[version] += count;
  for (const auto& [name, count] : part.errors) total.errors[name] += count;
  total.label_checked += part.label_checked;
  total.label_matches += part.label_matches;
}

}  // namespace

uint64_t LoadReport::error_total() const {
  uint64_t total = 0;
  for (const auto& [name, count] : errors) total += count;
  return total;
}

LoadReport run_load(const LoadOptions& options) {
  validate(options);
  // Every connection is made before any thread starts sending; thread t
  // takes connections t, t + threads, ... in count and starts its images
  // t/threads of the way through the set.
  const int threads = std::min(options.threads, options.connections);
  const uint64_t image_count = options.images.size() / options.image_pixels;
  LatencyHistogram latency_us;
  std::optional<tls::Context> trust;
  if (options.tls) trust.emplace(tls::Context::client(options.tls_ca_file));
  std::vector<std::unique_ptr<LoadRun>> runs;
  for (int t = 0; t < threads; ++t)
    runs.push_back(std::make_unique<LoadRun>(options, trust ? &*trust : nullptr,
                                             (options.connections - t + threads - 1) / threads,
                                             t * image_count / threads / options.batch, latency_us));
  std::vector<LoadReport> parts(threads);
  std::vector<std::exception_ptr> errors(threads);
  const CpuTimes cpu_before = process_cpu_times();
  const auto start = Clock::now();
  {
    std::vector<std::jthread> workers;
    for (int t = 1; t < threads; ++t)
      workers.emplace_back([&, t] {
        try {
          parts[t] = runs[t]->run(start);
        } catch (...) {
          errors[t] = std::current_exception();
        }
      });
    parts[0] = runs[0]->run(start);
  }
  for (const auto& error : errors)
    if (error) std::rethrow_exception(error);
  const CpuTimes cpu_after = process_cpu_times();
  LoadReport report;
  for (const LoadReport& part : parts) add_counts(report, part);
  report.client_user_s = cpu_after.user_s - cpu_before.user_s;
  report.client_system_s = cpu_after.system_s - cpu_before.system_s;
  report.p50_us = static_cast<double>(latency_us.percentile(0.50));
  report.p90_us = static_cast<double>(latency_us.percentile(0.90));
  report.p99_us = static_cast<double>(latency_us.percentile(0.99));
  report.p999_us = static_cast<double>(latency_us.percentile(0.999));
  return report;
}

std::string format_report(const LoadReport& r) {
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(1);
  out << "requests ok " << r.requests_ok << " of " << r.requests_sent << " sent in " << r.seconds << " s\n"
      << "throughput  " << r.requests_per_second() << " req/s, " << r.images_per_second() << " images/s\n"
      << "latency us  p50 " << r.p50_us << "  p90 " << r.p90_us << "  p99 " << r.p99_us << "  p999 " << r.p999_us
      << "\n"
      << "client cpu  " << per_request_us(r.client_user_s, r.requests_sent) << " us user + "
      << per_request_us(r.client_system_s, r.requests_sent) << " us system per request (this process)\n"
      << "failures    " << r.failures() << " (wrong answers " << r.wrong_answers << ", unmatched ids "
      << r.unmatched_ids << ", lost " << r.lost << ", failed connections " << r.connection_failures << ")\n";
  for (const auto& [name, count] : r.errors) out << "error       " << name << " " << count << "\n";
  if (r.reconnects > 0) out << "reconnects  " << r.reconnects << " (requests resent " << r.resent << ")\n";
  for (const auto& [version, count] : r.ok_by_version) out << "version     " << version << " answered " << count << "\n";
  if (r.label_checked > 0)
    out << "labels      " << r.label_matches << " of " << r.label_checked << " match ("
        << 100.0 * static_cast<double>(r.label_matches) / static_cast<double>(r.label_checked) << "%)\n";
  return out.str();
}

}  // namespace gc::serve
