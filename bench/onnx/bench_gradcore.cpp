// Times gradcore's Classifier on one model over the MNIST test set, the
// counterpart of bench/onnx/ort_bench.js (same passes, same JSON): for each
// thread count and batch size, several passes over all the images; the best
// pass counts. bench/onnx/compare.sh runs both on one exported model.
//
//   build/bench/onnx/bench_gradcore MODEL(.gcm|.onnx) [--images F] [--labels F]
//       [--batches 1,64,256] [--threads 1,2] [--passes 5] [--json]
//
// The inputs are normalised before the clock starts (the model's own
// input.scale/mean/std), so a pass times only Classifier::forward over every
// batch. Each pass's predictions are checked against the labels; a pass whose
// accuracy differs from the first is an error.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "infer/classifier.h"
#include "serialize/onnx_load.h"
#include "tools/data/idx.h"

namespace {

struct Options {
  std::string model, images = "data/mnist/t10k-images-idx3-ubyte", labels = "data/mnist/t10k-labels-idx1-ubyte";
  std::vector<int> batches = {1, 64, 256}, threads = {1, 2};
  int passes = 5;
  bool json = false;
};

std::vector<int> positive_list(const std::string& name, const std::string& text) {
  std::vector<int> values;
  std::stringstream items(text);
  for (std::string item; std::getline(items, item, ',');) {
    int v = std::atoi(item.c_str());
    if (v < 1 || std::to_string(v) != item) throw std::invalid_argument(name + " wants positive integers, got '" + text + "'");
    values.push_back(v);
  }
  return values;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--json") o.json = true;
    else if (arg == "--images") o.images = value();
    else if (arg == "--labels") o.labels = value();
    else if (arg == "--batches") o.batches = positive_list(arg, value());
    else if (arg == "--threads") o.threads = positive_list(arg, value());
    else if (arg == "--passes") o.passes = positive_list(arg, value())[0];
    else if (arg.starts_with("--")) throw std::invalid_argument("unknown option " + arg);
    else if (o.model.empty()) o.model = arg;
    else throw std::invalid_argument("unexpected argument '" + arg + "'");
  }
  if (o.model.empty()) throw std::invalid_argument("no model given (usage in bench/onnx/bench_gradcore.cpp)");
  return o;
}

nlohmann::json benchmark(const Options& o) {
  gc::infer::Classifier classifier(gc::load_model_or_onnx(o.model));
  const gc::data::IdxImages images = gc::data::read_idx_images(o.images);
  const gc::data::IdxLabels labels = gc::data::read_idx_labels(o.labels);
  const int64_t count = images.count, pixels = classifier.input_size(), classes = classifier.classes();
  if (static_cast<int64_t>(labels.labels.size()) != count || images.rows * images.cols != pixels)
    throw std::runtime_error(o.images + ": images do not fit the labels or the model's input");
  std::vector<float> inputs(count * pixels), logits(count * classes);
  classifier.normalise(images.pixels.data(), count, inputs.data());
  nlohmann::json results = nlohmann::json::array();
  for (int threads : o.threads) {
    omp_set_num_threads(threads);
    for (int batch : o.batches) {
      classifier.forward(inputs.data(), std::min<int64_t>(batch, count), logits.data());  // warm-up
      std::vector<double> seconds;
      int64_t correct = -1;
      for (int pass = 0; pass < o.passes; ++pass) {
        const auto start = std::chrono::steady_clock::now();
        for (int64_t begin = 0; begin < count; begin += batch)
          classifier.forward(inputs.data() + begin * pixels, std::min<int64_t>(batch, count - begin),
                             logits.data() + begin * classes);
        seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        int64_t right = 0;
        for (int64_t i = 0; i < count; ++i) {
          const float* row = logits.data() + i * classes;
          right += std::max_element(row, row + classes) - row == labels.labels[i];
        }
        if (correct >= 0 && right != correct)
          throw std::runtime_error("threads " + std::to_string(threads) + " batch " + std::to_string(batch) + ": pass " +
                                   std::to_string(pass) + " got " + std::to_string(right) + " right, the first " +
                                   std::to_string(correct));
        correct = right;
      }
      std::vector<double> sorted = seconds;
      std::sort(sorted.begin(), sorted.end());
      const double best = sorted.front(), batches = double((count + batch - 1) / batch);
      results.push_back({{"threads", threads}, {"batch", batch}, {"images_per_s", count / best}, {"best_s", best},
                         {"median_s", sorted[sorted.size() / 2]}, {"us_per_batch", best / batches * 1e6},
                         {"accuracy", double(correct) / count}});
    }
  }
  return {{"runtime", "gradcore 0.1.0"}, {"model", o.model}, {"images", count}, {"passes", o.passes},
          {"results", results}};
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options o = parse(argc, argv);
    const nlohmann::json report = benchmark(o);
    if (o.json) {
      std::printf("%s\n", report.dump(2).c_str());
      return 0;
    }
    std::printf("%s; %s; %lld images, best of %d passes\nthreads  batch      img/s   us/batch  median/best  accuracy\n",
                report["runtime"].get<std::string>().c_str(), o.model.c_str(),
                static_cast<long long>(report["images"].get<int64_t>()), o.passes);
    for (const auto& r : report["results"])
      std::printf("%7d  %5d  %9.0f  %9.1f  %11.2f  %7.2f%%\n", r["threads"].get<int>(), r["batch"].get<int>(),
                  r["images_per_s"].get<double>(), r["us_per_batch"].get<double>(),
                  r["median_s"].get<double>() / r["best_s"].get<double>(), 100 * r["accuracy"].get<double>());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_gradcore: %s\n", e.what());
    return 1;
  }
}
