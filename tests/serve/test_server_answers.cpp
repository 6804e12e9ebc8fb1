// A real server on 127.0.0.1: its answers equal the model's in-process
// answers, and 100 pipelining clients each get every answer matched to its id.
#include "server_fixture.h"
#include "serve/socket_address.h"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <map>

using namespace gc::serve;
using namespace gc::serve::test;

namespace {

void expect_matches(const protocol::PredictResponse& response, const Reference& ref, int first, int count,
                    bool with_logits) {
  ASSERT_EQ(response.status, protocol::Status::ok) << response.message;
  ASSERT_EQ(response.predictions.size(), static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    const auto& p = response.predictions[i];
    EXPECT_EQ(p.predicted_class, ref.classes[first + i]) << "image " << first + i;
    for (int k = 0; k < 10; ++k) {
      EXPECT_NEAR(p.probabilities[k], ref.probabilities[(first + i) * 10 + k], 1e-6);
      if (with_logits) {
        EXPECT_EQ(p.logits[k], ref.logits[(first + i) * 10 + k]);
      }
    }
  }
}

}  // namespace

TEST(ServeAnswers, TcpAnswersEqualInProcessPredictions) {
  ModelFiles files;
  RunningServer server(test_options(), files.v1);
  auto images = random_images(40, 1);
  Reference ref = reference_answers(files.v1, images);
  Client client = server.client();

  auto batch = client.predict(images, 40, /*want_logits=*/true);
  EXPECT_EQ(batch.model_version, 1);
  expect_matches(batch, ref, 0, 40, true);
  for (int i = 0; i < 5; ++i) {
    auto one = client.predict(std::span(images).subspan(i * kPixels, kPixels), 1);
    expect_matches(one, ref, i, 1, false);
    EXPECT_TRUE(one.predictions[0].logits.empty());
  }
}

// Bound to ::1, the server answers over IPv6 as it does over IPv4, and is not
// reachable at 127.0.0.1.
TEST(ServeAnswers, ListensOnIPv6Loopback) {
  int probe = socket(AF_INET6, SOCK_STREAM, 0);
  auto any_port = gc::serve::listen_address("::1", 0);
  bool have_ipv6 = probe >= 0 && bind(probe, any_port.get(), any_port.length) == 0;
  if (probe >= 0) close(probe);
  if (!have_ipv6) GTEST_SKIP() << "no IPv6 loopback (::1) on this machine";

  ModelFiles files;
  ServerOptions options = test_options();
  options.bind_address = "::1";
  RunningServer server(options, files.v1);
  auto images = random_images(6, 3);
  Reference ref = reference_answers(files.v1, images);
  Client client("::1", server.port(), 5000);
  expect_matches(client.predict(images, 6, /*want_logits=*/true), ref, 0, 6, true);
  EXPECT_THROW(Client("127.0.0.1", server.port(), 5000), std::runtime_error);
}

// A name's addresses are tried in turn: "localhost" may give ::1 first,
// which a server on 127.0.0.1 refuses.
TEST(ServeAnswers, ClientTriesEachAddressOfAName) {
  ModelFiles files;
  RunningServer server(test_options(), files.v1);
  auto images = random_images(2, 4);
  Client client("localhost", server.port(), 5000);
  expect_matches(client.predict(images, 2), reference_answers(files.v1, images), 0, 2, false);
}

TEST(ServeAnswers, Float32InputGivesTheSameAnswers) {
  ModelFiles files;
  RunningServer server(test_options(), files.v1);
  auto images = random_images(8, 2);
  Reference ref = reference_answers(files.v1, images);
  auto model = gc::serve::testing::load_linear_test_model(files.v1);
  std::vector<float> normalised(images.size());
  model->normalise(images.data(), 8, normalised.data());
  Client client = server.client();
  expect_matches(client.predict_normalised(normalised, 8, true), ref, 0, 8, true);
}

TEST(ServeAnswers, HundredPipeliningClientsGetEveryAnswerMatchedToItsId) {
  ModelFiles files;
  auto options = test_options();
  options.max_batch = 16;
  RunningServer server(options, files.v1);
  constexpr int kClients = 100, kRequestsEach = 20, kThreads = 4;
  auto images = random_images(kClients, 3);
  Reference ref = reference_answers(files.v1, images);

  std::atomic<int> matched{0}, failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      try {
        std::vector<Client> clients;
        for (int c = t; c < kClients; c += kThreads) clients.push_back(server.client());
        // Every client writes all its requests before anyone reads: ids are
        // unique per client and each names the image it asks about.
        for (size_t k = 0; k < clients.size(); ++k) {
          std::vector<uint8_t> frames;
          for (int r = 0; r < kRequestsEach; ++r) {
            int image = (t + static_cast<int>(k) * kThreads + r * 7) % kClients;
            uint64_t id = (static_cast<uint64_t>(r) << 32) | static_cast<uint64_t>(image);
            protocol::append_predict_request(frames, id, protocol::PixelFormat::uint8, false, 1, {1, 28, 28},
                                             std::span(images).subspan(image * kPixels, kPixels));
          }
          clients[k].send_bytes(frames);
        }
        for (auto& client : clients) {
          std::map<uint64_t, int> seen;
          for (int r = 0; r < kRequestsEach; ++r) {
            Frame frame = client.read_frame();
            auto response = protocol::decode_predict_response(frame.payload);
            int image = static_cast<int>(frame.header.request_id & 0xFFFFFFFF);
            if (!response || response->status != protocol::Status::ok || ++seen[frame.header.request_id] != 1 ||
                image >= kClients || response->predictions[0].predicted_class != ref.classes[image])
              ++failures;
            else
              ++matched;
          }
        }
      } catch (const std::exception& e) {
        ADD_FAILURE() << e.what();
        ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(matched.load(), kClients * kRequestsEach);
}

TEST(ServeAnswers, InfoHealthAndStatsDescribeTheServer) {
  ModelFiles files;
  RunningServer server(test_options(), files.v1);
  Client client = server.client();
  auto images = random_images(3, 4);
  ASSERT_EQ(client.predict(images, 3).status, protocol::Status::ok);

  auto info = client.info();
  ASSERT_EQ(info.status, protocol::Status::ok);
  auto j = nlohmann::json::parse(info.json);
  EXPECT_EQ(j["name"], "linear-test");
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["labels"].size(), 10u);
  EXPECT_EQ(j["input"]["height"], 28);
  EXPECT_EQ(j["previous_version"], -1);

  auto health = client.health();
  EXPECT_EQ(health.state, protocol::HealthState::serving);
  EXPECT_EQ(health.model_version, 1);

  auto stats = nlohmann::json::parse(client.stats().json);
  EXPECT_EQ(stats["requests"]["predict"], 1);
  EXPECT_EQ(stats["images"], 3);
  EXPECT_EQ(stats["latency_us"]["count"], 1);
  EXPECT_EQ(stats["batch_size_histogram"][0]["le"], 4);
}

TEST(ServeAnswers, HttpEndpointServesMetricsAndHealth) {
  ModelFiles files;
  auto options = test_options();
  options.http_port = 0;
  RunningServer server(options, files.v1);
  ASSERT_GT(server.server().http_port(), 0);
  Client client = server.client();
  ASSERT_EQ(client.predict(random_images(1, 5), 1).status, protocol::Status::ok);

  auto http_get = [&](const std::string& path) {
    Client http("127.0.0.1", server.server().http_port());
    std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    http.send_bytes(std::span(reinterpret_cast<const uint8_t*>(request.data()), request.size()));
    std::string reply;
    char buffer[4096];
    for (ssize_t n; (n = ::recv(http.fd(), buffer, sizeof buffer, 0)) > 0;) reply.append(buffer, n);
    return reply;
  };
  std::string metrics = http_get("/metrics");
  EXPECT_NE(metrics.find("200 OK"), std::string::npos);
  EXPECT_NE(metrics.find("gradcore_requests_total{type=\"predict\"} 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("gradcore_model_version 1"), std::string::npos);
  std::string health = http_get("/healthz");
  EXPECT_NE(health.find("200 OK"), std::string::npos);
}
