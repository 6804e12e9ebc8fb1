// Test helpers: a temporary directory with test model files, a server
// running on its own thread on an ephemeral port, images, and the in-process
// reference answers to compare the server's with.
#pragma once

#include "serve/client.h"
#include "serve/server.h"
#include "serve/testing/linear_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace gc::serve::test {

inline constexpr int kPixels = 784;
inline constexpr const char* kToken = "test-token-123";

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "gc-serve-XXXXXX").string();
    path = mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

// Model files: v1 (seed 11) and v2 (seed 22).
struct ModelFiles {
  TempDir dir;
  std::string v1 = dir.file("v1.lin"), v2 = dir.file("v2.lin");
  ModelFiles() {
    gc::serve::testing::save_linear_test_model(v1, 1, 11);
    gc::serve::testing::save_linear_test_model(v2, 2, 22);
  }
};

inline ServerOptions test_options() {
  ServerOptions o;
  o.port = 0;
  o.reload_token = kToken;
  o.idle_timeout_ms = 10000;
  return o;
}

class RunningServer {
 public:
  RunningServer(const ServerOptions& options, const std::string& model_path)
      : server_(options, gc::serve::testing::load_linear_test_model, model_path), thread_([this] { server_.run(); }) {}
  ~RunningServer() { stop(); }
  void stop() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }
  int port() const { return server_.port(); }
  Server& server() { return server_; }
  Client client() { return Client("127.0.0.1", port(), 5000); }

 private:
  Server server_;
  std::thread thread_;
};

inline std::vector<uint8_t> random_images(int count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> pixels(static_cast<size_t>(count) * kPixels);
  for (auto& p : pixels) p = static_cast<uint8_t>(rng() % 256);
  return pixels;
}

struct Reference {
  std::vector<int> classes;
  std::vector<float> probabilities, logits;  // count × 10
};

// What the model in `path` answers in this process.
inline Reference reference_answers(const std::string& path, const std::vector<uint8_t>& pixels) {
  auto model = gc::serve::testing::load_linear_test_model(path);
  int count = static_cast<int>(pixels.size() / kPixels);
  std::vector<float> normalised(pixels.size());
  Reference r;
  r.logits.resize(static_cast<size_t>(count) * 10);
  model->normalise(pixels.data(), count, normalised.data());
  model->forward(normalised.data(), count, r.logits.data());
  for (int i = 0; i < count; ++i) {
    const float* l = &r.logits[static_cast<size_t>(i) * 10];
    int best = static_cast<int>(std::max_element(l, l + 10) - l);
    double sum = 0;
    for (int k = 0; k < 10; ++k) sum += std::exp(static_cast<double>(l[k]) - l[best]);
    for (int k = 0; k < 10; ++k) r.probabilities.push_back(static_cast<float>(std::exp(l[k] - l[best]) / sum));
    r.classes.push_back(best);
  }
  return r;
}

// A frame header with any field chosen, for malformed-input tests.
inline std::vector<uint8_t> raw_header(uint32_t magic, uint16_t version, uint16_t type, uint64_t id,
                                       uint32_t length) {
  std::vector<uint8_t> out;
  protocol::ByteWriter w(out);
  w.u32(magic);
  w.u16(version);
  w.u16(type);
  w.u64(id);
  w.u32(length);
  return out;
}

// True when the server closes the connection (reads return 0 or reset)
// within timeout_ms, discarding anything it still sends.
inline bool closed_by_server(Client& client, int timeout_ms = 3000) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  uint8_t buffer[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{client.fd(), POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    ssize_t n = ::recv(client.fd(), buffer, sizeof buffer, 0);
    if (n <= 0) return true;
  }
  return false;
}

}  // namespace gc::serve::test
