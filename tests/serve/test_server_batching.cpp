// Dynamic batching with --max-delay-us: a batch waits for a fuller batch
// only while a connection answered by the previous batch has not sent again,
// so a closed-loop client is never held for the delay, and clients answered
// together are batched together again.
#include "server_fixture.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <future>
#include <map>

using namespace gc::serve;
using namespace gc::serve::test;

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kLongDelayUs = 2'000'000;

double elapsed_ms(Clock::time_point since) {
  return std::chrono::duration<double, std::milli>(Clock::now() - since).count();
}

// Batches of each size bucket (le → count) from STATS.
std::map<int, int> batch_histogram(Client& client) {
  std::map<int, int> buckets;
  const auto stats = nlohmann::json::parse(client.stats().json);
  for (const auto& b : stats["batch_size_histogram"])
    buckets[b["le"].get<int>()] = b["count"].get<int>();
  return buckets;
}

TEST(ServeBatching, ALoneClosedLoopClientIsNeverHeldForTheDelay) {
  ModelFiles files;
  ServerOptions options = test_options();
  options.max_delay_us = kLongDelayUs;
  RunningServer server(options, files.v1);
  Client client = server.client();
  auto images = random_images(1, 5);
  const auto start = Clock::now();
  for (int i = 0; i < 10; ++i) ASSERT_EQ(client.predict(images, 1).status, protocol::Status::ok) << "request " << i;
  // Ten answers, each of which would have waited 2 s without the rule.
  EXPECT_LT(elapsed_ms(start), 1000.0);
  EXPECT_EQ(batch_histogram(client)[1], 10);
}

TEST(ServeBatching, ARequestWaitsForTheClientsTheLastBatchAnswered) {
  ModelFiles files;
  ServerOptions options = test_options();
  options.max_delay_us = kLongDelayUs;
  RunningServer server(options, files.v1);
  Client first = server.client(), second = server.client();
  auto images = random_images(1, 6);
  ASSERT_EQ(first.predict(images, 1).status, protocol::Status::ok);  // batch 1 answers `first`

  // `second`'s request waits: `first` was answered and has not sent again.
  const auto sent = Clock::now();
  auto waiting = std::async(std::launch::async, [&] {
    auto answer = second.predict(images, 1);
    return std::make_pair(answer.status, elapsed_ms(sent));
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_EQ(first.predict(images, 1).status, protocol::Status::ok);  // now nobody is awaited: both run
  const auto [status, waited_ms] = waiting.get();
  EXPECT_EQ(status, protocol::Status::ok);
  EXPECT_GE(waited_ms, 150.0);
  EXPECT_LT(waited_ms, 1500.0);
  auto histogram = batch_histogram(first);
  EXPECT_EQ(histogram[1], 1);  // batch 1
  EXPECT_EQ(histogram[2], 1);  // both requests in batch 2
}

}  // namespace
