// 503 when the batching queue is full, made deterministic with a model whose
// forward pass waits at a gate: while the server is held in the first batch,
// two more requests arrive; once it is let go, it reads both in one turn of
// its loop, queues the first and refuses the second.
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

TEST(HttpOverload, AFullQueueIs503AndTheOthersAreAnswered) {
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
