// The HTTP port of a real server (the deterministic linear test model):
// infer answers equal the model's in-process ones and join the TCP
// protocol's batches; keep-alive, pipelining in order, the limits (Host,
// body, headers), idle and slow connections, version pinning.
#include "http_fixture.h"
#include "serve/canary.h"

#include <nlohmann/json.hpp>
#include <sys/resource.h>

#include <cstring>
#include <thread>

using namespace gc::serve;
using namespace gc::serve::test;
using nlohmann::json;

namespace {

const std::string kInfer = "/v2/models/linear-test/infer";

std::vector<float> floats_of(const json& output) { return output["data"].get<std::vector<float>>(); }

json output_named(const json& answer, const std::string& name) {
  for (const auto& o : answer["outputs"])
    if (o["name"] == name) return o;
  ADD_FAILURE() << "no output " << name << " in " << answer.dump();
  return {};
}

}  // namespace

TEST(HttpPort, InferAnswersEqualTheModelsAndEchoTheId) {
  ModelFiles files;
  RunningServer server(http_options(), files.v1);
  auto images = random_images(3, 5);
  Reference ref = reference_answers(files.v1, images);
  RawHttp http(server.server().http_port());
  http.send(post_request(kInfer, infer_json(images, "req-7")));
  auto r = http.read();
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json answer = json::parse(r->body);
  EXPECT_EQ(answer["id"], "req-7");
  EXPECT_EQ(answer["model_name"], "linear-test");
  EXPECT_EQ(answer["model_version"], "1");
  EXPECT_EQ(output_named(answer, "class")["data"].get<std::vector<int>>(), ref.classes);
  EXPECT_EQ(output_named(answer, "probabilities")["shape"], json({3, 10}));
  auto probabilities = floats_of(output_named(answer, "probabilities"));
  auto logits = floats_of(output_named(answer, "logits"));
  ASSERT_EQ(probabilities.size(), ref.probabilities.size());
  for (size_t i = 0; i < probabilities.size(); ++i) {
    EXPECT_FLOAT_EQ(probabilities[i], ref.probabilities[i]) << i;  // shortest round-trip text: exact
    EXPECT_FLOAT_EQ(logits[i], ref.logits[i]) << i;
  }
}

TEST(HttpPort, BinaryTensorDataInAndOut) {
  ModelFiles files;
  RunningServer server(http_options(), files.v1);
  auto images = random_images(2, 9);
  Reference ref = reference_answers(files.v1, images);
  std::string header = R"({"inputs":[{"name":"input","datatype":"UINT8","shape":[2,1,28,28],)"
                       R"("parameters":{"binary_data_size":1568}}],)"
                       R"("outputs":[{"name":"class","parameters":{"binary_data":true}},)"
                       R"({"name":"logits","parameters":{"binary_data":true}}]})";
  std::string body = header + std::string(images.begin(), images.end());
  RawHttp http(server.server().http_port());
  http.send(post_request(kInfer, body, "Inference-Header-Content-Length: " + std::to_string(header.size()) + "\r\n"));
  auto r = http.read();
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  size_t json_bytes = std::stoul(r->headers.at("inference-header-content-length"));
  json answer = json::parse(r->body.substr(0, json_bytes));
  ASSERT_EQ(answer["outputs"].size(), 2u);
  EXPECT_EQ(answer["outputs"][0]["parameters"]["binary_data_size"], 16);
  EXPECT_EQ(answer["outputs"][1]["parameters"]["binary_data_size"], 80);
  ASSERT_EQ(r->body.size(), json_bytes + 16 + 80);
  int64_t classes[2];
  std::memcpy(classes, r->body.data() + json_bytes, 16);
  EXPECT_EQ(classes[0], ref.classes[0]);
  EXPECT_EQ(classes[1], ref.classes[1]);
  float logits[20];
  std::memcpy(logits, r->body.data() + json_bytes + 16, 80);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(logits[i], ref.logits[i]) << i;
}

TEST(HttpPort, PipelinedRequestsAreAnsweredInOrder) {
  ModelFiles files;
  RunningServer server(http_options(), files.v1);
  auto images = random_images(1, 3);
  RawHttp http(server.server().http_port());
  // One write: a GET, an infer that waits for its batch, a GET, another infer.
  http.send(get_request("/v2/health/live") + post_request(kInfer, infer_json(images, "first")) + get_request("/v2") +
            post_request(kInfer, infer_json(images, "second")));
  auto live = http.read(), first = http.read(), meta = http.read(), second = http.read();
  ASSERT_TRUE(live && first && meta && second);
  EXPECT_EQ(live->status, 200);
  EXPECT_EQ(json::parse(first->body)["id"], "first");
  EXPECT_EQ(json::parse(meta->body)["name"], "gradcore");
  EXPECT_EQ(json::parse(second->body)["id"], "second");
}

TEST(HttpPort, HttpAndTcpRequestsShareTheBatchingQueueAndStats) {
  ModelFiles files;
  RunningServer server(http_options(), files.v1);
  auto images = random_images(1, 4);
  Client tcp = server.client();
  tcp.predict(images, 1);
  RawHttp http(server.server().http_port());
  http.send(post_request(kInfer, infer_json(images)));
  ASSERT_EQ(http.read()->status, 200);
  http.send(get_request("/stats"));
  json stats = json::parse(http.read()->body);
  EXPECT_EQ(stats["requests"]["predict"], 2);
  EXPECT_EQ(stats["images"], 2);
  EXPECT_EQ(stats["http"]["requests"], 2);
  http.send(get_request("/metrics"));
  auto metrics = http.read();
  EXPECT_NE(metrics->body.find("gradcore_http_responses_total{code=\"2xx\"} 2"), std::string::npos) << metrics->body;
}

TEST(HttpPort, Http11WithoutHostIs400AndClosed) {
  ModelFiles files;
  RunningServer server(http_options(), files.v1);
  RawHttp http(server.server().http_port());
  http.send("GET /v2/health/live HTTP/1.1\r\n\r\n");
  auto r = http.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(json::parse(r->body)["error"].get<std::string>().find("Host"), std::string::npos);
  EXPECT_TRUE(http.closed());
  RawHttp old(server.server().http_port());  // HTTP/1.0 needs no Host, and closes after its answer
  old.send("GET /v2/health/live HTTP/1.0\r\n\r\n");
  EXPECT_EQ(old.read()->status, 200);
  EXPECT_TRUE(old.closed());
}

TEST(HttpPort, BodyOverTheLimitIs413BeforeItIsSent) {
  ModelFiles files;
  ServerOptions options = http_options();
  options.http_max_body_bytes = 1000;
  RunningServer server(options, files.v1);
  RawHttp http(server.server().http_port());
  http.send("POST " + kInfer + " HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n");
  auto r = http.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_TRUE(http.closed());
  RawHttp chunked(server.server().http_port());  // no length up front: refused once the body passes the limit
  chunked.send("POST " + kInfer + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3e9\r\n" +
               std::string(1001, ' ') + "\r\n0\r\n\r\n");
  EXPECT_EQ(chunked.read()->status, 413);
}

TEST(HttpPort, OversizedHeadersAre431AndGarbageIs400) {
  ModelFiles files;
  RunningServer server(http_options(), files.v1);
  RawHttp big(server.server().http_port());
  big.send("GET /v2 HTTP/1.1\r\nHost: x\r\nX-Filler: " + std::string(20000, 'a') + "\r\n\r\n");
  EXPECT_EQ(big.read()->status, 431);
  RawHttp garbage(server.server().http_port());
  garbage.send("\x01\x02 not http\r\n\r\n");
  EXPECT_EQ(garbage.read()->status, 400);
  EXPECT_TRUE(garbage.closed());
}

// cpp-httplib, before this port, kept /healthz waiting 9.7 s behind 8 idle
// connections. Here 1000 idle ones and 8 trickling a request byte by byte
// must not keep a new connection from its answer (a 5 s bound, far above
// the milliseconds it takes).
TEST(HttpPort, IdleAndSlowConnectionsDoNotDelayOthers) {
  rlimit limit{};  // both ends of 1000 connections live in this process
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < 2100) GTEST_SKIP() << "needs 2100 descriptors, the hard limit is " << limit.rlim_max;
  ModelFiles files;
  RunningServer server(http_options(), files.v1);
  std::vector<RawHttp> idle;
  for (int i = 0; i < 1000; ++i) idle.emplace_back(server.server().http_port());
  std::vector<RawHttp> slow;
  for (int i = 0; i < 8; ++i) {
    slow.emplace_back(server.server().http_port());
    slow.back().send("GET /v2/hea");
  }
  RawHttp fresh(server.server().http_port());
  fresh.send(get_request("/healthz"));
  auto r = fresh.read(5000);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "ok\n");
  for (auto& s : slow) s.send("lth/live HTTP/1.1\r\nHost: x\r\n\r\n");
  for (auto& s : slow) EXPECT_EQ(s.read()->status, 200);
}

TEST(HttpPort, ATrickledRequestIsClosedByItsDeadline) {
  ModelFiles files;
  ServerOptions options = http_options();
  options.idle_timeout_ms = 300;
  RunningServer server(options, files.v1);
  RawHttp slow(server.server().http_port());
  bool closed = false;
  std::string request = get_request("/v2/health/live", "X-Padding: " + std::string(200, 'p') + "\r\n");
  for (size_t i = 0; i < request.size() && !closed; ++i) {  // a byte every 20 ms: 5 s for the whole request
    try {
      slow.send(request.substr(i, 1));
    } catch (const std::exception&) {
      closed = true;
    }
    closed = closed || slow.closed(20);
  }
  EXPECT_TRUE(closed) << "the trickled request was read to the end";
  EXPECT_GE(server.server().stats().connections_frame_timed_out.load(), 1u);
}

TEST(HttpPort, ExpectContinueIsAnsweredBeforeTheBody) {
  ModelFiles files;
  RunningServer server(http_options(), files.v1);
  auto images = random_images(1, 6);
  std::string body = infer_json(images, "after-continue");
  RawHttp http(server.server().http_port());
  http.send("POST " + kInfer + " HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: " +
            std::to_string(body.size()) + "\r\n\r\n");
  auto interim = http.read();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  http.send(body);
  auto r = http.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body)["id"], "after-continue");
}

TEST(HttpPort, KeepAliveServesManyRequestsOnOneConnection) {
  ModelFiles files;
  RunningServer server(http_options(), files.v1);
  RawHttp http(server.server().http_port());
  for (int i = 0; i < 20; ++i) {
    http.send(get_request("/v2/models/linear-test/ready"));
    auto r = http.read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->headers.count("connection"), 0u);
  }
  http.send(get_request("/v2", "Connection: close\r\n"));
  auto last = http.read();
  EXPECT_EQ(last->headers["connection"], "close");
  EXPECT_TRUE(http.closed());
}

TEST(HttpPort, VersionsPinnedAfterAReloadAndRolledBack) {
  ModelFiles files;
  RunningServer server(http_options(), files.v1);
  auto images = random_images(1, 8);
  Reference v1 = reference_answers(files.v1, images), v2 = reference_answers(files.v2, images);
  RawHttp http(server.server().http_port());
  std::string bearer = std::string("Authorization: Bearer ") + kToken + "\r\n";
  http.send(post_request("/v2/repository/models/linear-test/load",
                         json{{"parameters", {{"file", files.v2}}}}.dump(), "Authorization: Bearer wrong\r\n"));
  EXPECT_EQ(http.read()->status, 401);
  http.send(post_request("/v2/repository/models/linear-test/load", json{{"parameters", {{"file", files.v2}}}}.dump(),
                         bearer));
  auto loaded = http.read();
  ASSERT_EQ(loaded->status, 200) << loaded->body;
  EXPECT_EQ(json::parse(loaded->body)["version"], "2");
  auto logits_of = [&](const std::string& path) {
    http.send(post_request(path, infer_json(images)));
    auto r = http.read();
    EXPECT_EQ(r->status, 200) << path << ": " << r->body;
    return floats_of(output_named(json::parse(r->body), "logits"));
  };
  EXPECT_EQ(logits_of(kInfer), v2.logits);
  EXPECT_EQ(logits_of("/v2/models/linear-test/versions/2/infer"), v2.logits);
  EXPECT_EQ(logits_of("/v2/models/linear-test/versions/1/infer"), v1.logits);
  http.send(post_request("/v2/models/linear-test/versions/3/infer", infer_json(images)));
  EXPECT_EQ(http.read()->status, 404);
  http.send(post_request("/v2/repository/models/linear-test/unload", "", bearer));
  auto unloaded = http.read();
  ASSERT_EQ(unloaded->status, 200) << unloaded->body;
  EXPECT_EQ(logits_of(kInfer), v1.logits);
}

TEST(HttpPort, CanaryAnswersItsHashedShareOfInfersAndItsPinnedVersion) {
  ModelFiles files;
  ServerOptions options = http_options();
  options.canary_model_path = files.v2;
  options.canary_percent = 30;
  RunningServer server(options, files.v1);
  auto images = random_images(1, 12);
  Reference v1 = reference_answers(files.v1, images), v2 = reference_answers(files.v2, images);
  RawHttp http(server.server().http_port());
  int wrong = 0, canary_answers = 0;
  for (uint64_t n = 1; n <= 200; ++n) {  // the server numbers its HTTP infers from 1
    http.send(post_request(kInfer, infer_json(images)));
    auto r = http.read();
    ASSERT_EQ(r->status, 200) << r->body;
    auto body = json::parse(r->body);
    bool canary = body["model_version"] == "2";
    if (canary != in_sample(n, 30)) ++wrong;
    if (floats_of(output_named(body, "logits")) != (canary ? v2 : v1).logits) ++wrong;
    canary_answers += canary;
  }
  EXPECT_EQ(wrong, 0);
  EXPECT_GT(canary_answers, 0);
  http.send(post_request("/v2/models/linear-test/versions/2/infer", infer_json(images)));
  auto pinned = http.read();
  ASSERT_EQ(pinned->status, 200) << pinned->body;
  EXPECT_EQ(floats_of(output_named(json::parse(pinned->body), "logits")), v2.logits);
}
