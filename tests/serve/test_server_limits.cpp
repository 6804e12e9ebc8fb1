// Backpressure and timeouts: idle connections are closed, many idle ones do
// not stop an active client, and the connection and queue limits answer
// OVERLOADED instead of growing.
#include "server_fixture.h"

using namespace gc::serve;
using namespace gc::serve::test;
using protocol::Status;

TEST(ServeLimits, AnIdleConnectionIsTimedOut) {
  ModelFiles files;
  auto options = test_options();
  options.idle_timeout_ms = 200;
  RunningServer server(options, files.v1);
  Client idle = server.client();
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(closed_by_server(idle, 3000));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(150));
  EXPECT_EQ(server.server().stats().connections_timed_out.load(), 1u);
}

TEST(ServeLimits, ManyIdleConnectionsDoNotStopAnActiveClient) {
  ModelFiles files;
  RunningServer server(test_options(), files.v1);
  std::vector<Client> idle;
  for (int i = 0; i < 300; ++i) idle.push_back(server.client());
  Client active = server.client();
  auto images = random_images(1, 3);
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 200; ++i) ASSERT_EQ(active.predict(images, 1).status, Status::ok);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(server.server().stats().connections_open.load(), 301u);
}

TEST(ServeLimits, ConnectionsOverTheLimitGetOverloadedAndAreClosed) {
  ModelFiles files;
  auto options = test_options();
  options.max_connections = 3;
  RunningServer server(options, files.v1);
  std::vector<Client> kept;
  for (int i = 0; i < 3; ++i) {
    kept.push_back(server.client());
    ASSERT_EQ(kept.back().health().status, Status::ok);  // accepted before the next one connects
  }
  Client extra = server.client();
  Frame frame = extra.read_frame();
  EXPECT_EQ(protocol::decode_health_response(frame.payload)->status, Status::overloaded);
  EXPECT_EQ(frame.header.type, protocol::kFramingErrorType);  // a connection-level frame
  EXPECT_EQ(frame.header.request_id, 0u);
  EXPECT_TRUE(closed_by_server(extra));
  kept.pop_back();  // frees a slot
  for (int attempt = 0; attempt < 100; ++attempt) {
    if (server.server().stats().connections_open.load() == 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Client later = server.client();
  EXPECT_EQ(later.health().status, Status::ok);
}

TEST(ServeLimits, AFullQueueAnswersOverloaded) {
  ModelFiles files;
  auto options = test_options();
  options.max_batch = 4;
  options.max_queue = 4;
  RunningServer server(options, files.v1);
  Client client = server.client();
  // Ten pipelined one-image requests in one write: the server parses them
  // together, queues four and refuses the rest. Each is answered.
  std::vector<uint8_t> frames;
  auto images = random_images(1, 2);
  for (uint64_t id = 0; id < 10; ++id)
    protocol::append_predict_request(frames, id, protocol::PixelFormat::uint8, false, 1, {1, 28, 28}, images);
  client.send_bytes(frames);
  int ok = 0, overloaded = 0;
  for (int i = 0; i < 10; ++i) {
    auto response = protocol::decode_predict_response(client.read_frame().payload);
    ASSERT_TRUE(response);
    ok += response->status == Status::ok;
    overloaded += response->status == Status::overloaded;
  }
  EXPECT_EQ(ok + overloaded, 10);
  EXPECT_GE(ok, 4);
  EXPECT_GE(overloaded, 1);
  EXPECT_EQ(client.predict(images, 1).status, Status::ok);  // the connection stays open
}
