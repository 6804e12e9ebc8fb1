// Serving benchmark: starts the server on 127.0.0.1 with the deterministic
// linear test model (a stand-in until the real model is wired into
// `gradcore serve`), then runs the load generator in three shapes: one
// connection (latency), 64 connections with one request in flight each, and
// 64 connections pipelining 8 each. Every answer is checked against the
// model's in-process prediction; the run fails on any wrong or lost answer.
//
//   build-serve/bench/serve/bench_serve [seconds per run, default 5]
#include "serve/load_generator.h"
#include "serve/server.h"
#include "serve/testing/linear_model.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>

using namespace gc::serve;

int main(int argc, char** argv) {
  double seconds = argc > 1 ? std::atof(argv[1]) : 5.0;
  auto model_path = (std::filesystem::temp_directory_path() / "gc-bench-serve.lin").string();
  testing::save_linear_test_model(model_path, 1, 11);
  auto model = testing::load_linear_test_model(model_path);

  ServerOptions options;
  options.port = 0;
  Server server(options, testing::load_linear_test_model, model_path);
  std::thread serving([&] { server.run(); });

  // 1000 pseudo-random images and the classes the model gives them in-process.
  constexpr int kImages = 1000;
  std::vector<uint8_t> images(kImages * 784);
  std::mt19937 rng(7);
  for (auto& p : images) p = static_cast<uint8_t>(rng());
  std::vector<float> normalised(images.size()), logits(kImages * 10);
  model->normalise(images.data(), kImages, normalised.data());
  model->forward(normalised.data(), kImages, logits.data());
  std::vector<int> expected(kImages);
  for (int i = 0; i < kImages; ++i)
    expected[i] = static_cast<int>(std::max_element(&logits[i * 10], &logits[i * 10] + 10) - &logits[i * 10]);

  struct Shape {
    const char* name;
    int connections, inflight;
  };
  uint64_t failures = 0;
  for (Shape shape : {Shape{"1 connection, 1 in flight", 1, 1}, Shape{"64 connections, 1 in flight", 64, 1},
                      Shape{"64 connections, 8 in flight (pipelined)", 64, 8}}) {
    LoadOptions load;
    load.port = server.port();
    load.connections = shape.connections;
    load.inflight = shape.inflight;
    load.duration_s = seconds;
    load.images = images;
    load.expected_classes = expected;
    LoadReport report = run_load(load);
    std::printf("== %s\n%s", shape.name, format_report(report).c_str());
    failures += report.failures();
  }
  std::printf("== server stats\n%s\n", server.stats().to_json().c_str());
  server.stop();
  serving.join();
  std::filesystem::remove(model_path);
  return failures == 0 ? 0 : 1;
}
