// Canary and shadow models: the canary answers the hashed share of request
// ids it is given, and says so in each answer's version and in STATS; a
// reload to its version promotes it. The shadow's agreement with the live
// model is counted image by image, exactly as the two models' own answers
// say, while the answers stay the live model's.
#include "server_fixture.h"
#include "serve/canary.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <thread>

using namespace gc::serve;
using namespace gc::serve::test;
using protocol::Status;

namespace {

// Waits until the shadow has compared `images` images in all (or 10 s pass).
bool shadow_compared(const Server& server, uint64_t images) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (server.stats().shadow.images_compared.load() < images)
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    else
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return true;
}

nlohmann::json version_entry(const nlohmann::json& stats, int64_t version) {
  for (const auto& v : stats["versions"])
    if (v["version"] == version) return v;
  return nullptr;
}

}  // namespace

TEST(ServeCanary, AnswersItsHashedShareOfRequestIdsWithinOnePoint) {
  ModelFiles files;
  ServerOptions options = test_options();
  options.canary_model_path = files.v2;
  options.canary_percent = 10;
  RunningServer server(options, files.v1);
  auto image = random_images(1, 3);
  Reference v1 = reference_answers(files.v1, image), v2 = reference_answers(files.v2, image);

  constexpr int kRequests = 10000;
  Client client = server.client();
  int canary_answers = 0, wrong_version = 0, wrong_class = 0;
  for (int i = 0; i < kRequests; ++i) {
    uint64_t id = i + 1;  // the client numbers its requests from 1
    auto r = client.predict(image, 1);
    ASSERT_EQ(r.status, Status::ok) << r.message;
    int64_t expected = in_sample(id, 10) ? 2 : 1;
    if (r.model_version != expected) ++wrong_version;
    if (r.predictions[0].predicted_class != (r.model_version == 2 ? v2 : v1).classes[0]) ++wrong_class;
    if (r.model_version == 2) ++canary_answers;
  }
  EXPECT_EQ(wrong_version, 0);
  EXPECT_EQ(wrong_class, 0);
  double share = 100.0 * canary_answers / kRequests;
  EXPECT_NEAR(share, 10.0, 1.0);

  auto stats = nlohmann::json::parse(client.stats().json);
  EXPECT_EQ(stats["canary"]["version"], 2);
  auto live = version_entry(stats, 1), canary = version_entry(stats, 2);
  ASSERT_FALSE(live.is_null());
  ASSERT_FALSE(canary.is_null());
  EXPECT_EQ(live["role"], "live");
  EXPECT_EQ(canary["role"], "canary");
  EXPECT_EQ(live["answers"], kRequests - canary_answers);
  EXPECT_EQ(canary["answers"], canary_answers);
  EXPECT_EQ(canary["latency_us"]["count"], canary_answers);
  std::string metrics = server.server().stats().to_prometheus();
  EXPECT_NE(metrics.find("gradcore_version_answers_total{version=\"2\",role=\"canary\"} " +
                         std::to_string(canary_answers) + "\n"),
            std::string::npos);
}

TEST(ServeCanary, ReloadToTheCanaryVersionPromotesIt) {
  ModelFiles files;
  ServerOptions options = test_options();
  options.canary_model_path = files.v2;
  options.canary_percent = 50;
  RunningServer server(options, files.v1);
  auto image = random_images(1, 4);
  Client client = server.client();
  for (int i = 0; i < 20; ++i) ASSERT_EQ(client.predict(image, 1).status, Status::ok);
  ASSERT_EQ(client.reload(kToken, files.v2).status, Status::ok);
  for (int i = 0; i < 50; ++i) {
    auto r = client.predict(image, 1);
    ASSERT_EQ(r.status, Status::ok) << r.message;
    EXPECT_EQ(r.model_version, 2);
  }
  auto stats = nlohmann::json::parse(client.stats().json);
  EXPECT_EQ(stats["canary"]["version"], -1);
  EXPECT_EQ(version_entry(stats, 2)["role"], "live");
  EXPECT_EQ(version_entry(stats, 1)["role"], "retired");
}

TEST(ServeShadow, CountsAgreementAndDisagreementByClassExactly) {
  ModelFiles files;
  ServerOptions options = test_options();
  options.shadow_model_path = files.v2;
  RunningServer server(options, files.v1);
  constexpr int kBatches = 6, kImages = 16;
  auto images = random_images(kBatches * kImages, 5);
  Reference v1 = reference_answers(files.v1, images), v2 = reference_answers(files.v2, images);
  uint64_t agreed = 0;
  std::vector<uint64_t> disagreements(10, 0);
  for (size_t i = 0; i < v1.classes.size(); ++i)
    if (v1.classes[i] == v2.classes[i])
      ++agreed;
    else
      ++disagreements[v1.classes[i]];
  ASSERT_LT(agreed, v1.classes.size()) << "the two test models should disagree somewhere";

  Client client = server.client();
  for (int b = 0; b < kBatches; ++b) {
    std::span<const uint8_t> batch(images.data() + static_cast<size_t>(b) * kImages * kPixels,
                                   static_cast<size_t>(kImages) * kPixels);
    auto r = client.predict(batch, kImages);
    ASSERT_EQ(r.status, Status::ok) << r.message;
    EXPECT_EQ(r.model_version, 1);
    for (int i = 0; i < kImages; ++i) EXPECT_EQ(r.predictions[i].predicted_class, v1.classes[b * kImages + i]);
    // One batch at a time, so that the shadow's queue never fills.
    ASSERT_TRUE(shadow_compared(server.server(), static_cast<uint64_t>(b + 1) * kImages));
  }
  auto stats = nlohmann::json::parse(client.stats().json);
  const auto& shadow = stats["shadow"];
  EXPECT_EQ(shadow["version"], 2);
  EXPECT_EQ(shadow["batches_offered"], kBatches);
  EXPECT_EQ(shadow["batches_dropped"], 0);
  EXPECT_EQ(shadow["images_compared"], kBatches * kImages);
  EXPECT_EQ(shadow["images_agreed"], agreed);
  EXPECT_DOUBLE_EQ(shadow["agreement"].get<double>(), static_cast<double>(agreed) / (kBatches * kImages));
  EXPECT_EQ(shadow["disagreements_by_live_class"].get<std::vector<uint64_t>>(), disagreements);
  EXPECT_EQ(shadow["latency_us"]["count"], kBatches);
  std::string metrics = server.server().stats().to_prometheus();
  EXPECT_NE(metrics.find("gradcore_shadow_images_total{outcome=\"agreed\"} " + std::to_string(agreed) + "\n"),
            std::string::npos);
}

TEST(ServeShadow, TheSameModelAgreesEverywhere) {
  ModelFiles files;
  ServerOptions options = test_options();
  options.shadow_model_path = files.v1;
  RunningServer server(options, files.v1);
  auto images = random_images(32, 6);
  Client client = server.client();
  ASSERT_EQ(client.predict(images, 32).status, Status::ok);
  ASSERT_TRUE(shadow_compared(server.server(), 32));
  auto shadow = nlohmann::json::parse(client.stats().json)["shadow"];
  EXPECT_EQ(shadow["images_agreed"], 32);
  EXPECT_EQ(shadow["agreement"], 1.0);
  for (const auto& n : shadow["disagreements_by_live_class"]) EXPECT_EQ(n, 0);
}

TEST(ServeShadow, PercentSamplesBatchesByTheirHash) {
  ModelFiles files;
  ServerOptions options = test_options();
  options.shadow_model_path = files.v2;
  options.shadow_percent = 30;
  RunningServer server(options, files.v1);
  auto image = random_images(1, 7);
  Client client = server.client();
  constexpr int kRequests = 400;
  for (int i = 0; i < kRequests; ++i) ASSERT_EQ(client.predict(image, 1).status, Status::ok);
  // One request per batch: batch n (numbered from 1) is sampled when its hash falls in the 30%.
  uint64_t expected = 0;
  for (uint64_t n = 1; n <= kRequests; ++n) expected += in_sample(n, 30);
  EXPECT_EQ(server.server().stats().shadow.batches_offered.load(), expected);
}

TEST(ServeShadow, ReloadToTheShadowVersionRetiresIt) {
  ModelFiles files;
  ServerOptions options = test_options();
  options.shadow_model_path = files.v2;
  RunningServer server(options, files.v1);
  auto image = random_images(1, 8);
  Client client = server.client();
  ASSERT_EQ(client.predict(image, 1).status, Status::ok);
  ASSERT_EQ(client.reload(kToken, files.v2).status, Status::ok);
  for (int i = 0; i < 10; ++i) ASSERT_EQ(client.predict(image, 1).status, Status::ok);
  EXPECT_EQ(server.server().stats().shadow.batches_offered.load(), 1);  // none after the reload
}
