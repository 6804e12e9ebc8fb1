#include "serve/server.h"

#include "serve/event_loop.h"
#include "serve/log.h"
#include "serve/socket_address.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <omp.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <optional>
#include <stdexcept>

namespace gc::serve {

static_assert(std::endian::native == std::endian::little, "float32 pixels are copied straight off the wire");

namespace {

using protocol::MessageType;
using protocol::PixelFormat;
using protocol::Status;

constexpr size_t kReadChunk = 64 * 1024;
constexpr size_t kReadBudgetPerPass = 256 * 1024;  // per connection per loop turn, for fairness
constexpr auto kAcceptPauseOnFdExhaustion = std::chrono::milliseconds(100);
constexpr size_t kParallelSendsFrom = 8;  // answers to write before the threads share the sends
// Connections the last batch answered that have not sent again, from which
// the wait for the next batch parks the OpenMP threads (one client's
// turnaround is too short to pay for waking them).
constexpr int kParkFromAwaited = 2;

std::runtime_error system_error(const std::string& what) {
  return std::runtime_error(what + ": " + std::strerror(errno));
}

// A non-blocking listening socket bound to `address`; `address` becomes the bound one.
int open_listener(SocketAddress& address) {
  int fd = socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw system_error("socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, address.get(), address.length) != 0) {
    auto error = system_error("bind " + address_name(address));
    ::close(fd);
    throw error;
  }
  if (listen(fd, 1024) != 0) throw system_error("listen");
  address.length = sizeof address.storage;
  getsockname(fd, address.get(), &address.length);
  return fd;
}

}  // namespace

// ============================================================================
// setup

Server::EventLoop::EventLoop(ServerOptions options, ModelLoader loader, const std::string& model_path)
    : options_(std::move(options)) {
  if (options_.max_batch < 1 || options_.max_batch > 65535) throw std::invalid_argument("max_batch must be 1..65535");
  if (options_.max_delay_us < 0 || options_.max_connections < 1 || options_.max_queue < options_.max_batch ||
      options_.idle_timeout_ms < 0 || options_.drain_timeout_ms < 0 || options_.min_frame_bytes_per_s < 1)
    throw std::invalid_argument(
        "max_delay_us, idle_timeout_ms and drain_timeout_ms must be >= 0, max_connections and "
        "min_frame_bytes_per_s >= 1, max_queue >= max_batch");

  // Signals are blocked before the model loads: threads inherit the mask,
  // and a loader may start some (the real model's validation forward pass
  // starts the OpenMP team); one that left SIGTERM unblocked would take its
  // default action and kill the process undrained.
  if (options_.handle_signals) {
    sigset_t signals;
    sigemptyset(&signals);
    for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&signals, s);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    signal_fd_ = signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
    if (signal_fd_ < 0) throw system_error("signalfd");
  }
  if (options_.tls_cert_file.empty() != options_.tls_key_file.empty())
    throw std::invalid_argument("TLS needs both a certificate and a key (--tls-cert and --tls-key)");
  SocketAddress address = listen_address(options_.bind_address, options_.port);
  if (!is_loopback(address) && options_.tls_cert_file.empty() && !options_.insecure)
    throw std::invalid_argument("refusing to serve plaintext on " + options_.bind_address +
                                ", which other machines can reach: give --tls-cert and --tls-key, or --insecure");
  if (!options_.tls_cert_file.empty())
    tls_ = std::make_unique<tls::Context>(tls::Context::server(options_.tls_cert_file, options_.tls_key_file));
  registry_ = std::make_unique<ModelRegistry>(loader, model_path);
  const ServingModel& model = registry_->current();
  stats.model_version = model.version;
  load_candidates(loader);
  max_payload_ = options_.max_payload_bytes;
  if (max_payload_ == 0) {
    size_t needed = protocol::kPredictHeaderSize + size_t{4} * options_.max_batch * model.pixels;
    max_payload_ = static_cast<uint32_t>(std::max<size_t>(size_t{1} << 20, needed));
  }

  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw system_error("epoll_create1");
  auto watch = [this](int fd, uint64_t id, uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = id;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) throw system_error("epoll_ctl");
  };

  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) throw system_error("eventfd");
  watch(wake_fd_, kWakeId, EPOLLIN);

  listen_fd_ = open_listener(address);
  port = port_of(address);
  watch(listen_fd_, kListenId, EPOLLIN);
  if (options_.http_port >= 0) {
    SocketAddress http_address = listen_address(options_.bind_address, options_.http_port);
    http_listen_fd_ = open_listener(http_address);
    http_port = port_of(http_address);
    watch(http_listen_fd_, kHttpListenId, EPOLLIN);
    http_limits_.max_body_bytes = options_.http_max_body_bytes;
  }

  if (signal_fd_ >= 0) watch(signal_fd_, kSignalId, EPOLLIN);
}

Server::EventLoop::~EventLoop() {
  for (auto& [id, c] : connections_) ::close(c->fd);
  for (int fd : {listen_fd_, http_listen_fd_, wake_fd_, signal_fd_, epoll_fd_})
    if (fd >= 0) ::close(fd);
}

// ============================================================================
// the loop

void Server::EventLoop::run() {
  const ServingModel& model = registry_->current();
  log_event({{"event", "serving"},
             {"port", std::to_string(port)},
             {"http_port", std::to_string(http_port)},
             {"model", model.path},
             {"version", std::to_string(model.version)},
             {"max_batch", std::to_string(options_.max_batch)}});
  std::vector<epoll_event> events(256);
  for (;;) {
    if (awaited_ >= kParkFromAwaited && !draining_ && omp_get_max_threads() > 1)
      gather_with_threads_parked(events);
    else
      poll_once(events);
    run_batches(draining_);
    flush_queued();
    if (now_ >= next_timeout_check_) check_timeouts();
    if (draining_ && ((connections_.empty() && !registry_->loading()) || Clock::now() >= drain_deadline_)) break;
  }
  std::vector<uint64_t> left;
  for (auto& [id, c] : connections_) left.push_back(id);
  for (uint64_t id : left) close_connection(*find(id), "drain timeout");
  log_event({{"event", "stopped"}, {"unanswered_connections", std::to_string(left.size())}});
}

void Server::EventLoop::poll_once(std::vector<epoll_event>& events) {
  int n = wait_for_events(events);
  now_ = Clock::now();
  for (int i = 0; i < n; ++i) handle_event(events[i]);
}

int Server::EventLoop::wait_for_events(std::vector<epoll_event>& events) {
  // The nearest of: a batch waiting for max_delay, the next timeout scan, the drain deadline.
  std::optional<Clock::time_point> deadline;
  auto consider = [&](Clock::time_point t) { deadline = deadline ? std::min(*deadline, t) : t; };
  if (!queue_.empty()) consider(queue_.front().received + std::chrono::microseconds(options_.max_delay_us));
  if (options_.idle_timeout_ms > 0 || accept_paused_until_ > now_) consider(next_timeout_check_);
  if (draining_) consider(std::min(drain_deadline_, Clock::now() + std::chrono::milliseconds(10)));

  timespec timeout{};
  timespec* timeout_ptr = nullptr;
  if (deadline) {
    auto wait = std::max(Clock::duration::zero(), *deadline - Clock::now());
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count();
    timeout.tv_sec = ns / 1'000'000'000;
    timeout.tv_nsec = ns % 1'000'000'000;
    timeout_ptr = &timeout;
  }
  int n = epoll_pwait2(epoll_fd_, events.data(), static_cast<int>(events.size()), timeout_ptr, nullptr);
  if (n < 0 && errno == ENOSYS) {  // kernels before 5.11: millisecond timeouts
    int ms = timeout_ptr ? static_cast<int>((timeout.tv_sec * 1'000'000'000 + timeout.tv_nsec + 999'999) / 1'000'000) : -1;
    n = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), ms);
  }
  if (n < 0 && errno != EINTR) throw system_error("epoll_wait");
  return std::max(n, 0);
}

void Server::EventLoop::handle_event(const epoll_event& event) {
  uint64_t id = event.data.u64;
  if (id == kListenId || id == kHttpListenId) return accept_connections(id == kHttpListenId);
  if (id == kWakeId) {
    drain_wake_fd();
    if (stop_requested_.load()) begin_drain();
    finish_reload();
    return;
  }
  if (id == kSignalId) return handle_signals();
  Connection* c = find(id);
  if (!c) return;
  if (event.events & (EPOLLHUP | EPOLLERR)) {
    if (!c->tls || c->tls->handshake_done()) return close_connection(*c, "peer reset");
    stats.connections_tls_failed.fetch_add(1, std::memory_order_relaxed);
    return close_connection(*c, "TLS handshake failed", "peer reset");
  }
  if ((event.events & EPOLLIN) && !c->reading_done) {
    read_from(*c);
    c = find(id);
  }
  if (c && (event.events & EPOLLOUT) && c->read_wants_write) {
    read_from(*c);
    c = find(id);
  }
  if (c && (event.events & EPOLLOUT)) queue_flush(*c);
}

void Server::EventLoop::wake() {
  uint64_t one = 1;
  ssize_t ignored = ::write(wake_fd_, &one, sizeof one);
  (void)ignored;
}

void Server::EventLoop::drain_wake_fd() {
  uint64_t count;
  while (::read(wake_fd_, &count, sizeof count) > 0) {
  }
}

void Server::EventLoop::handle_signals() {
  signalfd_siginfo info;
  while (::read(signal_fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    log_event({{"event", "signal"}, {"signal", strsignal(static_cast<int>(info.ssi_signo))}});
    if (info.ssi_signo == SIGHUP)
      start_reload_from_signal();
    else
      begin_drain();
  }
}

Connection* Server::EventLoop::find(uint64_t id) {
  auto it = connections_.find(id);
  return it == connections_.end() ? nullptr : it->second.get();
}

void Server::EventLoop::accept_connections(bool http) {
  if (draining_ || now_ < accept_paused_until_) return;
  const int listener = http ? http_listen_fd_ : listen_fd_;
  for (;;) {
    SocketAddress address;
    address.length = sizeof address.storage;
    int fd = accept4(listener, address.get(), &address.length, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors: stop watching the listener for a moment instead of spinning on it.
        log_event({{"event", "accept_paused"}, {"error", std::strerror(errno)}});
        accept_paused_until_ = now_ + kAcceptPauseOnFdExhaustion;
        next_timeout_check_ = std::min(next_timeout_check_, accept_paused_until_);
        for (auto [fd, id] : {std::pair{listen_fd_, kListenId}, std::pair{http_listen_fd_, kHttpListenId}}) {
          epoll_event ev{};
          ev.data.u64 = id;
          if (fd >= 0) epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev);
        }
      }
      return;
    }
    std::string peer = address_name(address);
    if (connections_.size() >= static_cast<size_t>(options_.max_connections)) {
      // A connection-level frame (type 0xFFFF, request id 0): it answers no
      // request. Over TLS the connection is only closed: a handshake would
      // spend on it the CPU the server is short of.
      if (!tls_) {
        std::vector<uint8_t> refusal;
        if (http)
          append_http_response(refusal, 503, kJson, json_error("too many connections"), true);
        else
          protocol::append_error(refusal, protocol::kFramingErrorType, 0, Status::overloaded,
                                 "too many connections");
        ssize_t ignored = send(fd, refusal.data(), refusal.size(), MSG_NOSIGNAL);
        (void)ignored;
      }
      ::close(fd);
      stats.connections_rejected.fetch_add(1, std::memory_order_relaxed);
      stats.count_error(Status::overloaded);
      log_event({{"event", "connection_refused"}, {"peer", peer}, {"status", "OVERLOADED"},
                 {"msg", "too many connections"}});
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto c = std::make_unique<Connection>();
    c->fd = fd;
    c->id = next_connection_id_++;
    c->peer = std::move(peer);
    if (http) c->http = std::make_unique<HttpRequestReader>(http_limits_);
    if (tls_) {
      try {
        c->tls = std::make_unique<tls::Session>(*tls_, fd, tls::Session::Role::accept);
      } catch (const std::exception& e) {
        log_event({{"event", "connection_refused"}, {"peer", c->peer}, {"msg", e.what()}});
        ::close(fd);
        continue;
      }
    }
    c->last_progress = now_;
    c->epoll_events = EPOLLIN;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = c->id;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      ::close(fd);
      continue;
    }
    connections_.emplace(c->id, std::move(c));
    stats.connections_accepted.fetch_add(1, std::memory_order_relaxed);
    stats.connections_open.fetch_add(1, std::memory_order_relaxed);
  }
}

// With TLS, the handshake is driven by these reads too. Its bytes are no
// progress: a connection must finish it within idle_timeout_ms of being
// accepted, as a frame must be whole within its deadline. A read that stops
// short has emptied the session (what is left in the socket, epoll reports);
// one that filled the buffer may leave bytes in the session, where epoll
// cannot see them, so the budget does not stop the loop while it does.
void Server::EventLoop::read_from(Connection& c) {
  size_t budget = kReadBudgetPerPass;
  c.read_wants_write = false;
  while ((budget > 0 || (c.tls && c.tls->buffered())) && !c.reading_done) {
    c.reserve_input(kReadChunk);
    size_t space = c.input.size() - c.input_end;
    uint8_t* into = c.input.data() + c.input_end;
    const bool handshaking = c.tls && !c.tls->handshake_done();
    IoResult r = c.tls ? c.tls->read(into, space) : socket_read(c.fd, into, space);
    if (handshaking && c.tls->handshake_done()) c.last_progress = now_;
    if (r.state == IoState::ok) {
      if (c.unparsed().empty() && !(c.http && c.http->mid_request()))
        c.frame_started = now_;  // the first byte of a new frame or HTTP request
      c.input_end += r.bytes;
      c.last_progress = now_;
      budget -= std::min(budget, r.bytes);
      if (c.http)
        parse_http_requests(c);
      else
        parse_frames(c);
      if (r.bytes < space) break;  // the socket (or the session) is empty
    } else if (r.state == IoState::want_read) {
      break;
    } else if (r.state == IoState::want_write) {
      c.read_wants_write = true;  // a handshake reply the socket could not take yet
      break;
    } else if (handshaking) {
      stats.connections_tls_failed.fetch_add(1, std::memory_order_relaxed);
      return close_connection(c, "TLS handshake failed",
                              r.state == IoState::closed ? "the peer closed the connection" : r.error);
    } else if (r.state == IoState::closed) {
      c.reading_done = true;  // the peer will send no more; answer what it sent, then close
    } else {
      return close_connection(c, "read error", r.error);
    }
  }
  settle(c);
}

void Server::EventLoop::queue_flush(Connection& c) {
  if (c.queued_for_flush) return;
  c.queued_for_flush = true;
  flush_list_.push_back(c.id);
}

void Server::EventLoop::flush_queued() {
  writing_.clear();
  for (uint64_t id : flush_list_) {
    if (Connection* c = find(id)) {
      c->queued_for_flush = false;
      writing_.push_back(c);
    }
  }
  flush_list_.clear();
  // The sends (each also runs the loopback delivery to its peer) split over
  // the model's OpenMP threads, which would otherwise wait idle: 64
  // connections, 2-core VM, 10.9k -> 11.4-11.5k req/s. Only the sends run in
  // parallel; closing and epoll updates stay on this thread. Taken two at a
  // time as threads come free, so a thread the clients preempt does not
  // leave the other spinning at the barrier on a core the clients need
  // (against a static split, six pairs of runs at --max-delay-us 1000:
  // 16.2k -> 17.0k req/s on average, p99 5.4-6.9 -> 5.1-5.6 ms).
  write_failed_.assign(writing_.size(), 0);
#pragma omp parallel for schedule(dynamic, 2) if (writing_.size() >= kParallelSendsFrom)
  for (size_t i = 0; i < writing_.size(); ++i) write_failed_[i] = !send_pending(*writing_[i]);
  for (size_t i = 0; i < writing_.size(); ++i) {
    if (write_failed_[i])
      close_connection(*writing_[i], "write error");
    else
      finish_write(*writing_[i]);
  }
  auto written = Clock::now();
  for (const AnswerReceipt& r : answered_receipts_) {
    auto us = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(written - r.received).count());
    stats.predict_latency_us.record(us);
    r.version->latency_us.record(us);
  }
  answered_receipts_.clear();
}

// A TLS write that wants a read could only come from renegotiation, which
// serve/tls.cpp turns off; it waits like a full socket.
bool Server::EventLoop::send_pending(Connection& c) {
  while (c.unwritten() > 0) {
    const uint8_t* from = c.output.data() + c.output_sent;
    IoResult r = c.tls ? c.tls->write(from, c.unwritten()) : socket_write(c.fd, from, c.unwritten());
    if (r.state == IoState::ok) {
      c.output_sent += r.bytes;
      c.last_progress = now_;
    } else if (r.state == IoState::failed) {
      return false;
    } else {
      break;
    }
  }
  return true;
}

void Server::EventLoop::finish_write(Connection& c) {
  if (c.unwritten() == 0) {
    c.output.clear();
    c.output_sent = 0;
  } else if (c.output_sent > c.output.size() / 2) {
    c.output.erase(c.output.begin(), c.output.begin() + static_cast<std::ptrdiff_t>(c.output_sent));
    c.output_sent = 0;
  }
  settle(c);
}

void Server::EventLoop::settle(Connection& c) {
  if (c.finished()) return close_connection(c, nullptr);
  uint32_t wanted = 0;
  if (!c.reading_done && c.unwritten() < options_.max_output_bytes) wanted |= EPOLLIN;
  if (c.unwritten() > 0 || c.read_wants_write) wanted |= EPOLLOUT;
  if (wanted == c.epoll_events) return;
  // A frame's clock stops while the server itself does not read the connection.
  if ((wanted & EPOLLIN) && !(c.epoll_events & EPOLLIN)) c.frame_started = now_;
  epoll_event ev{};
  ev.events = wanted;
  ev.data.u64 = c.id;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
  c.epoll_events = wanted;
}

void Server::EventLoop::close_connection(Connection& c, const char* reason, const std::string& error) {
  if (reason && error.empty())
    log_event({{"event", "connection_closed"}, {"conn", std::to_string(c.id)}, {"peer", c.peer}, {"reason", reason},
               {"owed", std::to_string(c.owed)}});
  else if (reason)
    log_event({{"event", "connection_closed"}, {"conn", std::to_string(c.id)}, {"peer", c.peer}, {"reason", reason},
               {"error", error}, {"owed", std::to_string(c.owed)}});
  stop_awaiting(c);
  if (c.tls) c.tls->close_notify();
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
  ::close(c.fd);
  stats.connections_open.fetch_sub(1, std::memory_order_relaxed);
  connections_.erase(c.id);  // destroys c; its queued requests are skipped when their batch runs
}

void Server::EventLoop::check_timeouts() {
  if (accept_paused_until_ != Clock::time_point{} && now_ >= accept_paused_until_ && !draining_) {
    accept_paused_until_ = {};
    for (auto [fd, id] : {std::pair{listen_fd_, kListenId}, std::pair{http_listen_fd_, kHttpListenId}}) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = id;
      if (fd >= 0) epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev);
    }
  }
  if (options_.idle_timeout_ms == 0) {
    next_timeout_check_ = Clock::time_point::max();
    return;
  }
  auto idle_limit = std::chrono::milliseconds(options_.idle_timeout_ms);
  std::vector<uint64_t> idle, slow;
  for (auto& [id, c] : connections_) {
    if (auto deadline = frame_deadline(*c)) {
      if (now_ > *deadline) slow.push_back(id);
    } else if (c->owed == 0 && now_ - c->last_progress > idle_limit) {
      idle.push_back(id);
    }
  }
  for (uint64_t id : idle) {
    stats.connections_timed_out.fetch_add(1, std::memory_order_relaxed);
    close_connection(*find(id), "idle timeout");
  }
  for (uint64_t id : slow) {
    stats.connections_frame_timed_out.fetch_add(1, std::memory_order_relaxed);
    close_connection(*find(id), "frame timeout");
  }
  auto interval = std::clamp(idle_limit / 4, std::chrono::milliseconds(1), std::chrono::milliseconds(250));
  next_timeout_check_ = now_ + interval;
}

// A frame must be whole within idle_timeout_ms of its first byte, plus one
// second per min_frame_bytes_per_s bytes of the payload its header declares,
// counting only time in which the server reads the connection. While a
// frame is under way this deadline replaces the idle timeout: a client
// sending at least that fast may pause, one sending slower cannot keep the
// connection by trickling bytes.
// An HTTP request is held to the same rule, its body's declared length in
// place of the payload's; while an earlier request's answer is owed, its
// bytes wait unread and have no deadline.
std::optional<Clock::time_point> Server::EventLoop::frame_deadline(const Connection& c) const {
  auto bytes = c.unparsed();
  if (c.reading_done || !(c.epoll_events & EPOLLIN)) return std::nullopt;
  std::chrono::duration<double> allowed = std::chrono::milliseconds(options_.idle_timeout_ms);
  if (c.http) {
    if (c.owed > 0 || (bytes.empty() && !c.http->mid_request())) return std::nullopt;
    allowed += std::chrono::duration<double>(static_cast<double>(c.http->declared_body_bytes()) /
                                             options_.min_frame_bytes_per_s);
    return c.frame_started + std::chrono::duration_cast<Clock::duration>(allowed);
  }
  if (bytes.empty()) return std::nullopt;
  auto header = protocol::parse_header(bytes, max_payload_);
  if (header.state == protocol::HeaderParse::State::complete)
    allowed += std::chrono::duration<double>(static_cast<double>(header.header.payload_length) /
                                             options_.min_frame_bytes_per_s);
  return c.frame_started + std::chrono::duration_cast<Clock::duration>(allowed);
}

void Server::EventLoop::begin_drain() {
  if (draining_) return;
  draining_ = true;
  stats.draining.store(true);
  drain_deadline_ = now_ + std::chrono::milliseconds(options_.drain_timeout_ms);
  for (int* fd : {&listen_fd_, &http_listen_fd_}) {
    if (*fd < 0) continue;
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, *fd, nullptr);
    ::close(*fd);
    *fd = -1;
  }
  log_event({{"event", "draining"}, {"connections", std::to_string(connections_.size())},
             {"queued_images", std::to_string(queued_images_)}});
  // Take in what every connection has already sent, then read no more.
  std::vector<uint64_t> ids;
  for (auto& [id, c] : connections_) ids.push_back(id);
  for (uint64_t id : ids) {
    if (Connection* c = find(id); c && !c->reading_done) read_from(*c);
    if (Connection* c = find(id)) {
      c->reading_done = true;
      settle(*c);
    }
  }
}

// ============================================================================
// the public face

Server::Server(ServerOptions options, ModelLoader loader, const std::string& model_path)
    : loop_(std::make_unique<EventLoop>(std::move(options), std::move(loader), model_path)) {}
Server::~Server() = default;
int Server::port() const { return loop_->port; }
int Server::http_port() const { return loop_->http_port; }
void Server::run() { loop_->run(); }
void Server::stop() { loop_->stop(); }
const ServerStats& Server::stats() const { return loop_->stats; }

}  // namespace gc::serve
