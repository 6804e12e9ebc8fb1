// Slow clients cannot hold a connection slot: a frame must be whole within
// the idle timeout of its first byte plus its payload at the minimum rate
// (docs/PROTOCOL.md), so trickling one byte at a time is closed as surely as
// silence, while a client that keeps sending whole frames is answered.
#include "server_fixture.h"

#include <sys/resource.h>

#include <atomic>

using namespace gc::serve;
using namespace gc::serve::test;
using protocol::Status;

namespace {

// True once the server has closed the socket (a read gives 0 or an error).
bool peer_closed(int fd) {
  uint8_t buffer[256];
  for (;;) {
    ssize_t n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
    if (n > 0) continue;  // an error frame, if any, before the close
    return n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
  }
}

// Each connection needs two descriptors in this process (ours and the server's).
void allow_descriptors(rlim_t wanted) {
  rlimit limit{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  if (limit.rlim_cur < wanted) {
    limit.rlim_cur = std::min(wanted, limit.rlim_max);
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  ASSERT_GE(limit.rlim_cur, wanted) << "this test needs " << wanted << " descriptors (ulimit -n)";
}

}  // namespace

TEST(ServeSlowClients, TricklingAndSilentConnectionsAreAllClosedWhileAnActiveClientIsAnswered) {
  constexpr int kTrickling = 500, kSilent = 500;
  constexpr int kIdleMs = 1000;
  allow_descriptors(2 * (kTrickling + kSilent) + 200);
  ModelFiles files;
  auto options = test_options();
  options.idle_timeout_ms = kIdleMs;
  options.max_connections = kTrickling + kSilent + 10;
  RunningServer server(options, files.v1);

  // The active client sends whole frames back to back on its own thread.
  std::atomic<bool> done{false};
  std::atomic<int> answered{0}, failed{0};
  std::atomic<int64_t> slowest_ms{0};
  std::thread active([&] {
    Client client = server.client();
    auto images = random_images(1, 4);
    int expected = reference_answers(files.v1, images).classes[0];
    while (!done.load()) {
      auto start = std::chrono::steady_clock::now();
      auto response = client.predict(images, 1);
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
      slowest_ms = std::max<int64_t>(slowest_ms.load(), ms.count());
      if (response.status == Status::ok && response.predictions[0].predicted_class == expected)
        ++answered;
      else
        ++failed;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });

  // Half the tricklers send a whole header declaring a one-image PREDICT
  // first (so their deadline includes the payload at the minimum rate),
  // the other half start with the header itself; then one byte each 200 ms.
  std::vector<uint8_t> frame;
  protocol::append_predict_request(frame, 1, protocol::PixelFormat::uint8, false, 1, {1, 28, 28},
                                   random_images(1, 5));
  auto start = std::chrono::steady_clock::now();
  std::vector<Client> trickling, silent;
  std::vector<size_t> sent(kTrickling, 0);
  for (int i = 0; i < kTrickling; ++i) {
    trickling.push_back(server.client());
    sent[i] = i % 2 ? protocol::kHeaderSize : 1;
    trickling.back().send_bytes(std::span(frame).first(sent[i]));
  }
  for (int i = 0; i < kSilent; ++i) silent.push_back(server.client());

  // Trickle until every connection is closed, or far past the deadline.
  const auto give_up = start + std::chrono::milliseconds(kIdleMs) + std::chrono::seconds(15);
  std::vector<bool> trickler_closed(kTrickling, false), silent_closed(kSilent, false);
  int open = kTrickling + kSilent;
  while (open > 0 && std::chrono::steady_clock::now() < give_up) {
    for (int i = 0; i < kTrickling; ++i) {
      if (trickler_closed[i]) continue;
      if (peer_closed(trickling[i].fd())) {
        trickler_closed[i] = true;
        --open;
        continue;
      }
      if (sent[i] < frame.size() &&
          ::send(trickling[i].fd(), frame.data() + sent[i], 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1)
        ++sent[i];
    }
    for (int i = 0; i < kSilent; ++i)
      if (!silent_closed[i] && peer_closed(silent[i].fd())) silent_closed[i] = true, --open;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  auto all_closed_after = std::chrono::steady_clock::now() - start;
  done = true;
  active.join();

  EXPECT_EQ(open, 0) << "connections still open 15 s past the idle timeout";
  // The deadline is the idle timeout (plus 12 ms of payload at 64 KiB/s);
  // the bound here only allows for a loaded machine.
  EXPECT_LT(all_closed_after, std::chrono::milliseconds(kIdleMs) + std::chrono::seconds(10));
  const ServerStats& stats = server.server().stats();
  EXPECT_EQ(stats.connections_frame_timed_out.load(), static_cast<uint64_t>(kTrickling));
  EXPECT_EQ(stats.connections_timed_out.load(), static_cast<uint64_t>(kSilent));
  EXPECT_GT(answered.load(), 0);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_LT(slowest_ms.load(), 5000) << "the active client waited that long for one answer";
}

TEST(ServeSlowClients, AFrameAtTheMinimumRateIsAnsweredAndOneSlowerIsClosed) {
  ModelFiles files;
  auto options = test_options();
  options.idle_timeout_ms = 300;
  options.min_frame_bytes_per_s = 200;  // a one-image frame (816 bytes) may take 0.3 + 4 s
  RunningServer server(options, files.v1);
  auto images = random_images(1, 6);
  std::vector<uint8_t> frame;
  protocol::append_predict_request(frame, 9, protocol::PixelFormat::uint8, false, 1, {1, 28, 28}, images);

  Client steady = server.client();
  steady.send_bytes(std::span(frame).first(frame.size() / 2));
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));  // past the idle timeout, within the frame's
  steady.send_bytes(std::span(frame).subspan(frame.size() / 2));
  auto response = protocol::decode_predict_response(steady.read_frame().payload);
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, Status::ok);
  EXPECT_EQ(response->predictions[0].predicted_class, reference_answers(files.v1, images).classes[0]);

  // A header that never completes gets only the idle timeout, however often a byte comes.
  Client trickler = server.client();
  auto start = std::chrono::steady_clock::now();
  bool closed = false;
  for (size_t i = 0; i < protocol::kHeaderSize - 1 && !closed; ++i) {
    ::send(trickler.fd(), frame.data() + i, 1, MSG_NOSIGNAL);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    closed = peer_closed(trickler.fd());
  }
  if (!closed) closed = closed_by_server(trickler, 5000);
  EXPECT_TRUE(closed);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(250));
  EXPECT_EQ(server.server().stats().connections_frame_timed_out.load(), 1u);
}
