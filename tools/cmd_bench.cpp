// `gradcore bench --model M [--batches 1,64,256] [--threads 1,2] [--path plan|engine|both] [--json]`:
// offline inference speed of a model over the MNIST test set. For each
// path, thread count and batch size, several passes over all the images
// (in batches of that size, the last one partial); the best pass counts.
// --path engine times the engine's own forward pass (Classifier::
// forward_engine), the baseline of the compiled plan (infer/plan.h); both
// alternate cell by cell, so they share the machine's conditions.
// bench/onnx/compare.sh runs ONNX Runtime on the same model in the same run.
//
// The inputs are normalised before the clock starts (the model's own
// input.scale/mean/std), so a pass times only the forward passes. Each
// pass's predictions are checked against the labels; a pass whose accuracy
// differs from the first is an error. CPU time (getrusage, all threads) per
// image is reported beside the wall time: it shows threads that spin.
#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "infer/classifier.h"
#include "serialize/onnx_load.h"
#include "tools/command.h"
#include "tools/data/idx.h"

namespace gc::tools {
namespace {

struct BenchArgs {
  std::string model, images = "data/mnist/t10k-images-idx3-ubyte", labels = "data/mnist/t10k-labels-idx1-ubyte";
  std::string batches = "1,64,256", threads = "1,2", path = "plan";
  int passes = 5;
  bool json = false;
};

std::vector<int> positive_list(const std::string& option, const std::string& text) {
  std::vector<int> values;
  std::stringstream items(text);
  for (std::string item; std::getline(items, item, ',');) {
    const int v = std::atoi(item.c_str());
    if (v < 1 || std::to_string(v) != item) throw Failure(option + " wants positive integers, got '" + text + "'");
    values.push_back(v);
  }
  if (values.empty()) throw Failure(option + " wants positive integers, got '" + text + "'");
  return values;
}

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         1e-6 * double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

struct Cell {
  std::string path;
  int threads, batch;
};

class Bench {
 public:
  explicit Bench(const BenchArgs& a) : args_(a), classifier_(load_model_or_onnx(a.model)) {
    const data::IdxImages images = data::read_idx_images(a.images);
    labels_ = data::read_idx_labels(a.labels).labels;
    count_ = images.count;
    if (int64_t(labels_.size()) != count_)
      throw Failure(a.labels + ": " + std::to_string(labels_.size()) + " labels for " + std::to_string(count_) +
                    " images in " + a.images);
    if (images.rows * images.cols != classifier_.input_size())
      throw Failure(a.images + ": images of " + std::to_string(images.rows * images.cols) + " pixels, the model takes " +
                    std::to_string(classifier_.input_size()));
    inputs_.resize(count_ * classifier_.input_size());
    logits_.resize(count_ * classifier_.classes());
    classifier_.normalise(images.pixels.data(), count_, inputs_.data());
  }

  nlohmann::json measure(const Cell& cell) {
    omp_set_num_threads(cell.threads);
    const int64_t pixels = classifier_.input_size(), classes = classifier_.classes();
    auto pass = [&] {
      for (int64_t begin = 0; begin < count_; begin += cell.batch) {
        const int64_t n = std::min<int64_t>(cell.batch, count_ - begin);
        if (cell.path == "plan")
          classifier_.forward(inputs_.data() + begin * pixels, n, logits_.data() + begin * classes);
        else
          classifier_.forward_engine(inputs_.data() + begin * pixels, n, logits_.data() + begin * classes);
      }
    };
    pass();  // warm-up: buffers grown, caches filled
    std::vector<double> seconds, cpu;
    int64_t correct = -1;
    for (int p = 0; p < args_.passes; ++p) {
      const double cpu_start = cpu_seconds();
      const auto start = std::chrono::steady_clock::now();
      pass();
      seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      cpu.push_back(cpu_seconds() - cpu_start);
      const int64_t right = count_correct();
      if (correct >= 0 && right != correct)
        throw Failure(cell.path + ", " + std::to_string(cell.threads) + " threads, batch " + std::to_string(cell.batch) +
                      ": pass " + std::to_string(p) + " got " + std::to_string(right) + " right, the first " +
                      std::to_string(correct));
      correct = right;
    }
    const size_t fastest = std::min_element(seconds.begin(), seconds.end()) - seconds.begin();
    std::vector<double> sorted = seconds;
    std::sort(sorted.begin(), sorted.end());
    const double best = sorted.front();
    return {{"path", cell.path},
            {"threads", cell.threads},
            {"batch", cell.batch},
            {"images_per_s", double(count_) / best},
            {"us_per_image", best / double(count_) * 1e6},
            {"cpu_us_per_image", cpu[fastest] / double(count_) * 1e6},
            {"best_s", best},
            {"median_s", sorted[sorted.size() / 2]},
            {"accuracy", double(correct) / double(count_)}};
  }

  int64_t images() const { return count_; }

 private:
  int64_t count_correct() const {
    const int64_t classes = classifier_.classes();
    int64_t right = 0;
    for (int64_t i = 0; i < count_; ++i) {
      const float* row = logits_.data() + i * classes;
      right += std::max_element(row, row + classes) - row == labels_[i];
    }
    return right;
  }

  const BenchArgs& args_;
  infer::Classifier classifier_;
  std::vector<uint8_t> labels_;
  int64_t count_ = 0;
  std::vector<float> inputs_, logits_;
};

void bench_command(const BenchArgs& a) {
  const std::vector<int> batches = positive_list("--batches", a.batches), threads = positive_list("--threads", a.threads);
  if (a.path != "plan" && a.path != "engine" && a.path != "both")
    throw Failure("--path wants plan, engine or both, got '" + a.path + "'");
  const std::vector<std::string> paths =
      a.path == "both" ? std::vector<std::string>{"plan", "engine"} : std::vector<std::string>{a.path};
  Bench bench(a);
  nlohmann::json results = nlohmann::json::array();
  for (int t : threads)
    for (int b : batches)
      for (const std::string& path : paths) results.push_back(bench.measure({path, t, b}));
  const nlohmann::json report = {{"runtime", "gradcore"}, {"model", a.model}, {"images", bench.images()},
                                 {"passes", a.passes},    {"results", results}};
  if (a.json) {
    std::printf("%s\n", report.dump(2).c_str());
    return;
  }
  std::printf("%s: %lld images, best of %d passes\n", a.model.c_str(), static_cast<long long>(bench.images()), a.passes);
  std::printf("path    threads  batch      img/s  us/image  cpu us/image  median/best  accuracy\n");
  for (const auto& r : results)
    std::printf("%-6s  %7d  %5d  %9.0f  %8.2f  %12.2f  %11.2f  %7.2f%%\n", r["path"].get<std::string>().c_str(),
                r["threads"].get<int>(), r["batch"].get<int>(), r["images_per_s"].get<double>(),
                r["us_per_image"].get<double>(), r["cpu_us_per_image"].get<double>(),
                r["median_s"].get<double>() / r["best_s"].get<double>(), 100 * r["accuracy"].get<double>());
}

void setup(CLI::App& app) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* cmd = app.add_subcommand("bench", "Offline inference speed over the MNIST test set (img/s per batch size)");
  cmd->add_option("--model", args->model, "Model file (.gcm, or .onnx imported on the fly)")->required();
  cmd->add_option("--images", args->images, "IDX images file")->capture_default_str();
  cmd->add_option("--labels", args->labels, "IDX labels file")->capture_default_str();
  cmd->add_option("--batches", args->batches, "Batch sizes, comma-separated")->capture_default_str();
  cmd->add_option("--threads", args->threads, "OpenMP thread counts, comma-separated")->capture_default_str();
  cmd->add_option("--passes", args->passes, "Timed passes per cell (the best counts)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("--path", args->path, "plan (the compiled plan), engine (Sequential::forward) or both")
      ->capture_default_str();
  cmd->add_flag("--json", args->json, "Print the results as JSON");
  cmd->callback([args] { bench_command(*args); });
}

CommandRegistration registration{"bench", setup};

}  // namespace
}  // namespace gc::tools
