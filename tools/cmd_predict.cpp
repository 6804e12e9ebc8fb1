// gradcore predict: classify image files (PNG/JPG/BMP/PGM, any size or colour,
// MNIST-style preprocessing), IDX image files, or every image in a directory.
// One result per line, as text or --json.
#include <omp.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "infer/classifier.h"
#include "serialize/onnx_load.h"
#include "tools/command.h"
#include "tools/trusted_keys.h"
#include "tools/data/idx.h"
#include "tools/data/predict_inputs.h"
#include "tools/data/preprocess.h"

namespace gc::tools {
namespace {

struct PredictArgs {
  std::string model = "models/mnist.gcm";
  std::vector<std::string> inputs;
  bool json = false;
  int threads = 0;
  std::string trusted_keys;
};

struct NamedImage {
  std::string name;
  data::Image28 pixels;
};

// Runs `read` for one input; a failure becomes a line of `problems` (naming
// the input) instead of ending the run, so the other inputs are classified.
template <typename Read>
void read_or_note(const std::string& name, Read read, std::vector<std::string>& problems) {
  try {
    read();
  } catch (const std::exception& e) {
    const std::string what = e.what();
    problems.push_back(what.rfind(name, 0) == 0 ? what : name + ": " + what);
  }
}

std::vector<NamedImage> collect(const std::vector<std::string>& inputs, std::vector<std::string>& problems) {
  std::vector<NamedImage> images;
  for (const std::string& input : inputs) {
    if (std::filesystem::is_directory(input)) {
      for (const std::string& file : data::list_image_files(input))
        read_or_note(file, [&] { images.push_back({file, data::preprocess_image_file(file)}); }, problems);
    } else if (data::has_idx_images_magic(input)) {
      read_or_note(input, [&] {
        auto batch = data::load_idx_image_batch(input);
        for (size_t i = 0; i < batch.size(); ++i) images.push_back({input + "[" + std::to_string(i) + "]", batch[i]});
      }, problems);
    } else {
      read_or_note(input, [&] { images.push_back({input, data::preprocess_image_file(input)}); }, problems);
    }
  }
  return images;
}

void run_predict(const PredictArgs& a) {
  omp_set_num_threads(a.threads > 0 ? a.threads : omp_get_num_procs());
  const auto trusted = load_trusted_keys(a.trusted_keys);
  infer::Classifier classifier(load_model_or_onnx(a.model, trusted ? &*trusted : nullptr));
  if (classifier.input_size() != data::kImagePixels)
    throw Failure(a.model + ": model input " + std::to_string(classifier.input_size()) +
                  " values per image, but predict feeds 28×28 images");
  std::vector<std::string> problems;
  std::vector<NamedImage> images = collect(a.inputs, problems);
  constexpr size_t kBatch = 256;
  for (size_t first = 0; first < images.size(); first += kBatch) {
    size_t n = std::min(kBatch, images.size() - first);
    std::vector<uint8_t> pixels(n * data::kImagePixels);
    for (size_t i = 0; i < n; ++i)
      std::copy(images[first + i].pixels.begin(), images[first + i].pixels.end(), pixels.begin() + i * data::kImagePixels);
    auto predictions = classifier.classify(pixels.data(), static_cast<int64_t>(n));
    for (size_t i = 0; i < n; ++i) {
      const infer::Prediction& p = predictions[i];
      const std::string& label = classifier.info().labels[p.label];
      if (a.json) {
        std::printf("%s\n", nlohmann::json{{"input", images[first + i].name}, {"label", label},
                                           {"class", p.label}, {"probabilities", p.probabilities}}.dump().c_str());
      } else {
        std::printf("%s: %s (p=%.4f)  [", images[first + i].name.c_str(), label.c_str(), p.probabilities[p.label]);
        for (size_t c = 0; c < p.probabilities.size(); ++c) std::printf("%s%.4f", c ? " " : "", p.probabilities[c]);
        std::printf("]\n");
      }
    }
  }
  // The good inputs are answered; each bad one is reported, and the exit status says some failed.
  if (images.empty() && problems.size() == 1) throw Failure(problems.front());
  for (const std::string& problem : problems) std::fprintf(stderr, "gradcore predict: %s\n", problem.c_str());
  if (!problems.empty())
    throw Failure(std::to_string(problems.size()) + " input(s) could not be read; the other " +
                  std::to_string(images.size()) + " image(s) were classified");
}

void setup(CLI::App& app) {
  auto args = std::make_shared<PredictArgs>();
  CLI::App* cmd = app.add_subcommand("predict", "Classify images (PNG/JPG/BMP/PGM), IDX image files or directories");
  cmd->add_option("--model", args->model, "Model file (.gcm, or .onnx imported on the fly)")->capture_default_str();
  cmd->add_option("inputs", args->inputs, "Image files, IDX image files or directories")->required();
  cmd->add_flag("--json", args->json, "One JSON object per line");
  cmd->add_option("--threads", args->threads, "Threads (default: all cores)");
  cmd->add_option("--trusted-keys", args->trusted_keys, kTrustedKeysHelp);
  cmd->callback([args] { run_predict(*args); });
}

CommandRegistration registration{"predict", setup};

}  // namespace
}  // namespace gc::tools
