// `gradcore loadgen --port 7878 --connections 64 --inflight 1 --duration 10 [--tls]`:
// load a running `gradcore serve` and check every answer. Exits 1 when any
// request failed or was answered wrongly.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "infer/classifier.h"
#include "serialize/onnx_load.h"
#include "serve/load_generator.h"
#include "serve/server.h"
#include "tools/command.h"
#include "tools/data/idx.h"

namespace gc::tools {
namespace {

struct LoadgenArgs {
  serve::LoadOptions load;
  std::string images_file;
  std::string labels_file;
  std::string model_file;  // in-process predictions every answer must equal
  int64_t offline_batch = serve::ServerOptions{}.max_batch;  // the server's default --max-batch
};

// Times `passes` in-process passes over args.load.images; returns each
// pass's images per second. Each pass's predicted classes must equal
// `expected`, which the first pass fills when it is empty.
std::vector<double> offline_passes(infer::Classifier& classifier, const LoadgenArgs& args, int passes,
                                   std::vector<int>& expected) {
  const int64_t batch = args.offline_batch;
  const auto& images = args.load.images;
  const auto n = static_cast<int64_t>(images.size() / 784);
  std::vector<double> rates;
  for (int pass = 0; pass < passes; ++pass) {
    std::vector<int> classes;
    const auto start = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < n; i += batch)
      for (const infer::Prediction& p : classifier.classify(images.data() + i * 784, std::min(batch, n - i)))
        classes.push_back(p.label);
    rates.push_back(double(n) / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    if (expected.empty())
      expected = classes;
    else if (classes != expected)
      throw Failure("in-process predictions of " + args.model_file + " differ between passes");
  }
  return rates;
}

void loadgen_command(LoadgenArgs& args) {
  auto& load = args.load;
  if (!args.images_file.empty()) {
    auto images = data::read_idx_images(args.images_file);
    if (images.rows != 28 || images.cols != 28) throw Failure(args.images_file + ": images are not 28x28");
    load.images = std::move(images.pixels);
  } else {
    // No images given: fixed pseudo-random ones, enough to exercise the server.
    std::mt19937 rng(1);
    load.images.resize(256 * 784);
    for (auto& p : load.images) p = static_cast<uint8_t>(rng());
  }
  if (!args.labels_file.empty()) {
    auto labels = data::read_idx_labels(args.labels_file);
    load.labels.assign(labels.labels.begin(), labels.labels.end());
  }
  // The in-process predictions every answer must equal, from the first of
  // the offline passes over the images in batches of --offline-batch (the
  // server's --max-batch, so both run the same forward passes). The offline
  // rate the served rate is compared with is the fastest of kOfflinePasses
  // passes before the load (the server idle) and as many after it: on a
  // shared VM the machine's speed drifts over seconds, and a baseline timed
  // in a slow moment would flatter the served rate.
  constexpr int kOfflinePasses = 3;
  std::unique_ptr<infer::Classifier> classifier;
  std::vector<double> before;
  if (!args.model_file.empty()) {
    classifier = std::make_unique<infer::Classifier>(load_model_or_onnx(args.model_file));
    before = offline_passes(*classifier, args, kOfflinePasses, load.expected_classes);
    std::printf("loadgen: expecting %s's in-process prediction for each of %zu images\n"
                "loadgen: offline in-process inference (batch %lld) before the load:",
                args.model_file.c_str(), load.expected_classes.size(), static_cast<long long>(args.offline_batch));
    for (double rate : before) std::printf(" %.0f", rate);
    std::printf(" images/s\n");
  }
  std::printf("loadgen: %d connections x %d in flight, batch %d, %d thread(s), %.1f s against %s:%d%s\n",
              load.connections, load.inflight, load.batch, load.threads, load.duration_s, load.host.c_str(),
              load.port, load.tls ? " over TLS" : "");
  auto report = serve::run_load(load);
  std::printf("%s", serve::format_report(report).c_str());
  if (classifier) {
    std::vector<double> after = offline_passes(*classifier, args, kOfflinePasses, load.expected_classes);
    std::printf("offline     after the load:");
    for (double rate : after) std::printf(" %.0f", rate);
    const double best_before = *std::max_element(before.begin(), before.end());
    const double best_after = *std::max_element(after.begin(), after.end());
    const double best = std::max(best_before, best_after);
    std::printf(" images/s; best before %.0f, after %.0f\n", best_before, best_after);
    std::printf("served / offline images per second: %.0f%% (of the best offline pass, %.0f)\n",
                100.0 * report.images_per_second() / best, best);
    if (std::min(best_before, best_after) < 0.8 * best)
      std::printf("note        the offline rate moved by more than 20%% during the run: the machine's speed "
                  "changed, so that share is uncertain\n");
  }
  if (report.failures() > 0) throw Failure(std::to_string(report.failures()) + " failed requests");
}

void setup(CLI::App& app) {
  auto args = std::make_shared<LoadgenArgs>();
  auto& o = args->load;
  auto* cmd = app.add_subcommand("loadgen", "Load a running `gradcore serve` and check every answer");
  cmd->add_option("--host", o.host, "Server address")->capture_default_str();
  cmd->add_option("--port", o.port, "Server port")->capture_default_str();
  cmd->add_option("--connections", o.connections, "Connections")->check(kPositive)->capture_default_str();
  cmd->add_option("--inflight", o.inflight, "Requests in flight per connection")
      ->check(kPositive)
      ->capture_default_str();
  cmd->add_option("--duration", o.duration_s, "Seconds of sending")->check(kPositive)->capture_default_str();
  cmd->add_option("--batch", o.batch, "Images per request")->check(CLI::Range(1, 65535))->capture_default_str();
  cmd->add_option("--threads", o.threads, "Client threads, each driving its share of the connections")
      ->check(kPositive)
      ->capture_default_str();
  cmd->add_flag("--tls", o.tls, "Connect with TLS (handshakes before the clock starts)");
  cmd->add_option("--tls-ca", o.tls_ca_file, "PEM file of the CAs to trust (default: the system's)")
      ->check(CLI::ExistingFile)
      ->needs("--tls");
  cmd->add_flag("--reconnect", o.reconnect,
               "Reopen a connection the server or a balancer closes and resend its unanswered requests");
  cmd->add_option("--images", args->images_file, "IDX images file (default: pseudo-random images)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--labels", args->labels_file, "IDX labels file: report how many answers match")
      ->check(CLI::ExistingFile)
      ->needs("--images");
  cmd->add_option("--model", args->model_file,
                  "Model file: every answer must equal this model's in-process prediction")
      ->check(CLI::ExistingFile);
  cmd->add_option("--offline-batch", args->offline_batch,
                  "Batch size of the in-process passes (--model): the server's --max-batch")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))
      ->capture_default_str();
  cmd->callback([args] { loadgen_command(*args); });
}

CommandRegistration registration{"loadgen", setup};

}  // namespace
}  // namespace gc::tools
