// gradcore quantize: post-training static quantization of a float model into
// an int8 model file (infer/quantize.h, docs/QUANTIZATION.md), calibrated on
// the first --calib-images training images (never test images).
#include <omp.h>

#include <cstdio>

#include "infer/quantize.h"
#include "serialize/onnx_load.h"
#include "serialize/quantized_store.h"
#include "tools/command.h"
#include "tools/data/dataset.h"
#include "tools/data/loader.h"

namespace gc::tools {
namespace {

struct QuantizeArgs {
  std::string model = "models/mnist.gcm";
  std::string out;
  int64_t calib_images = 1000;
  std::string calib = "minmax";
  int weight_bits = 8;
  std::string dataset;  // default: the dataset the model was trained on
  std::string data_dir;
  int threads = 0;
};

void run_quantize(const QuantizeArgs& a) {
  omp_set_num_threads(a.threads > 0 ? a.threads : omp_get_num_procs());
  LoadedModel loaded = load_model_or_onnx(a.model);
  if (loaded.quantization) throw Failure(a.model + " is already an int8 model (model.precision = int8)");
  const std::string dataset_name = a.dataset.empty() ? loaded.info.dataset : a.dataset;
  const data::Dataset train =
      data::load_dataset(data::parse_dataset_kind(dataset_name), data::Split::train, a.data_dir).head(a.calib_images);
  data::LoaderOptions options;
  options.mean = static_cast<float>(loaded.info.input_mean);
  options.std = static_cast<float>(loaded.info.input_std);
  data::DataLoader loader(train, options);
  std::vector<float> images(train.size() * data::kImagePixels);
  std::vector<int32_t> labels(train.size());
  loader.gather(0, train.size(), images.data(), labels.data());

  infer::QuantizeOptions q_options{a.calib, a.weight_bits, dataset_name + "-train"};
  const QuantizationInfo q =
      infer::quantize_model(*loaded.model, loaded.info.input_shape, images.data(), train.size(), q_options);
  save_quantized_model(a.out, *loaded.model, loaded.info, q);

  std::printf("quantized %s → %s: %s calibration on %lld %s training images, %d-bit weights\n", a.model.c_str(),
              a.out.c_str(), a.calib.c_str(), static_cast<long long>(train.size()), dataset_name.c_str(),
              a.weight_bits);
  const auto& layers = loaded.model->layers();
  for (size_t i = 0; i < layers.size(); ++i)
    std::printf("  %-10s %-22s %s\n", layers[i]->name().c_str(), layers[i]->spec().c_str(),
                q.layer_precision[i] == "int8" ? "int8" : "fp32 (no int8 kernel: dequantize before, quantize after)");
}

void setup(CLI::App& app) {
  auto args = std::make_shared<QuantizeArgs>();
  CLI::App* cmd = app.add_subcommand("quantize", "Post-training int8 quantization of a model, calibrated on training images");
  cmd->add_option("--model", args->model, "Float model (.gcm or .onnx)")->capture_default_str();
  cmd->add_option("--out", args->out, "Int8 model file to write")->required();
  cmd->add_option("--calib-images", args->calib_images, "Training images to calibrate on")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{60000}));
  cmd->add_option("--calib", args->calib, "Activation ranges: minmax or percentile (0.01% .. 99.99%)")
      ->capture_default_str()
      ->check(CLI::IsMember({"minmax", "percentile"}));
  cmd->add_option("--weight-bits", args->weight_bits,
                  "8 (|q| <= 127) or 7 (|q| <= 64: one AVX2 pass, no split)")
      ->capture_default_str()
      ->check(CLI::IsMember({7, 8}));
  cmd->add_option("--dataset", args->dataset, "mnist or fashion (default: what the model was trained on)");
  cmd->add_option("--data", args->data_dir, "Directory with the IDX files");
  cmd->add_option("--threads", args->threads, "Threads (default: all cores)");
  cmd->callback([args] { run_quantize(*args); });
}

CommandRegistration registration{"quantize", setup};

}  // namespace
}  // namespace gc::tools
