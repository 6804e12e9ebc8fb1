// With a model whose forward pass waits at a gate, what arrives while the
// server is held in a batch is read in one turn of its loop once it is let
// go, which makes two things deterministic: a full queue answers 503, and an
// HTTP and a TCP request that wait together run in one forward pass.
#include "http_fixture.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <thread>

using namespace gc::serve;
using namespace gc::serve::test;

namespace {

std::atomic<bool> gate_closed{false};
std::atomic<int> forward_calls{0};

// The linear test model, with a forward pass that waits while the gate is closed.
class GatedModel : public gc::serve::testing::LinearTestModel {
 public:
  using gc::serve::testing::LinearTestModel::LinearTestModel;
  void forward(const float* images, int n, float* logits) const override {
    forward_calls.fetch_add(1);
    for (int i = 0; i < 10000 && gate_closed.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    gc::serve::testing::LinearTestModel::forward(images, n, logits);
  }
};

}  // namespace

TEST(HttpGatedModel, AFullQueueIs503AndTheOthersAreAnswered) {
  ModelFiles files;
  ServerOptions options = http_options();
  options.max_batch = 4;
  options.max_queue = 4;
  Server server(options, [](const std::string&) { return std::make_shared<const GatedModel>(1, 11); }, files.v1);
  std::thread loop([&] { server.run(); });
  const std::string path = "/v2/models/linear-test/infer";
  auto images = random_images(4, 2);

  gate_closed = true;
  int before = forward_calls.load();
  RawHttp first(server.http_port());
  first.send(post_request(path, infer_json(images, "first")));
  for (int i = 0; i < 5000 && forward_calls.load() == before; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_GT(forward_calls.load(), before) << "the first batch never started";
  RawHttp second(server.http_port()), third(server.http_port());
  second.send(post_request(path, infer_json(images, "second")));
  third.send(post_request(path, infer_json(images, "third")));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // both requests are in the server's socket buffers
  gate_closed = false;

  auto a = first.read(), b = second.read(), c = third.read();
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->status, 200);
  // The server reads them in the order epoll reports: one is queued, the other refused.
  std::vector<int> statuses = {b->status, c->status};
  std::sort(statuses.begin(), statuses.end());
  EXPECT_EQ(statuses, (std::vector<int>{200, 503}));
  const RawResponse& refused = b->status == 503 ? *b : *c;
  EXPECT_EQ(nlohmann::json::parse(refused.body)["error"], "request queue is full");
  server.stop();
  loop.join();
}

TEST(HttpGatedModel, HttpAndTcpRequestsThatWaitTogetherRunInOneBatch) {
  ModelFiles files;
  Server server(http_options(), [](const std::string&) { return std::make_shared<const GatedModel>(1, 11); },
                files.v1);
  std::thread loop([&] { server.run(); });
  auto image = random_images(1, 3);
  Reference ref = reference_answers(files.v1, image);

  gate_closed = true;
  int before = forward_calls.load();
  RawHttp holder(server.http_port());
  holder.send(post_request("/v2/models/linear-test/infer", infer_json(image, "holder")));
  for (int i = 0; i < 5000 && forward_calls.load() == before; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_GT(forward_calls.load(), before) << "the first batch never started";
  RawHttp http(server.http_port());
  http.send(post_request("/v2/models/linear-test/infer", infer_json(image, "http")));
  Client tcp("127.0.0.1", server.port(), 5000);
  std::vector<uint8_t> frame;
  protocol::append_predict_request(frame, 77, protocol::PixelFormat::uint8, false, 1, {1, 28, 28}, image);
  tcp.send_bytes(frame);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // both requests are in the server's socket buffers
  gate_closed = false;

  ASSERT_EQ(holder.read()->status, 200);
  auto h = http.read();
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  auto answer = protocol::decode_predict_response(tcp.read_frame().payload);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->predictions[0].predicted_class, ref.classes[0]);
  // Two batches: the holder's, then one of two images.
  EXPECT_EQ(server.stats().batches.load(), 2u);
  EXPECT_EQ(server.stats().batch_sizes.bucket_count(1), 1u);  // the bucket of batches of 2
  server.stop();
  loop.join();
}
