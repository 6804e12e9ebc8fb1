// `gradcore loadgen --port 7878 --connections 64 --inflight 1 --duration 10`:
// load a running `gradcore serve` and check every answer. Exits 1 when any
// request failed or was answered wrongly.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "serve/load_generator.h"
#include "serve/server.h"
#include "tools/classifier.h"
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
  // kOfflinePasses passes over the images in batches of --offline-batch (the
  // server's --max-batch, so both run the same forward passes). The fastest
  // pass is the offline rate the served rate is compared with: timed before
  // any load starts (the server idle), warm, and the best of several, since
  // on a shared VM one pass can run 20% slow.
  double offline_images_per_s = 0;
  if (!args.model_file.empty()) {
    constexpr int kOfflinePasses = 3;
    const int64_t batch = args.offline_batch;
    Classifier classifier(args.model_file);
    const auto n = static_cast<int64_t>(load.images.size() / 784);
    std::vector<double> rates;
    for (int pass = 0; pass < kOfflinePasses; ++pass) {
      std::vector<int> classes;
      const auto start = std::chrono::steady_clock::now();
      for (int64_t i = 0; i < n; i += batch)
        for (const Prediction& p : classifier.classify(load.images.data() + i * 784, std::min(batch, n - i)))
          classes.push_back(p.label);
      rates.push_back(double(n) / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      if (pass == 0)
        load.expected_classes = classes;
      else if (classes != load.expected_classes)
        throw Failure("in-process predictions of " + args.model_file + " differ between passes");
    }
    offline_images_per_s = *std::max_element(rates.begin(), rates.end());
    std::printf("loadgen: expecting %s's in-process prediction for each of %lld images\n"
                "loadgen: offline in-process inference (batch %lld), %d passes:",
                args.model_file.c_str(), static_cast<long long>(n), static_cast<long long>(batch), kOfflinePasses);
    for (double rate : rates) std::printf(" %.0f", rate);
    std::printf(" images/s, best %.0f\n", offline_images_per_s);
  }
  std::printf("loadgen: %d connections x %d in flight, batch %d, %d thread(s), %.1f s against %s:%d\n",
              load.connections, load.inflight, load.batch, load.threads, load.duration_s, load.host.c_str(),
              load.port);
  auto report = serve::run_load(load);
  std::printf("%s", serve::format_report(report).c_str());
  if (offline_images_per_s > 0)
    std::printf("served / offline images per second: %.0f%%\n",
                100.0 * report.images_per_second() / offline_images_per_s);
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
