// gradcore eval: accuracy, per-class accuracy and the confusion matrix of a
// saved model on the MNIST (or Fashion-MNIST) test or training set.
#include <omp.h>

#include <cstdio>

#include "infer/classifier.h"
#include "kernels/cpu/conv2d.h"
#include "serialize/model_store.h"
#include "serialize/onnx_load.h"
#include "tools/command.h"
#include "tools/trusted_keys.h"
#include "tools/data/dataset.h"
#include "tools/training/evaluate.h"

namespace gc::tools {
namespace {

struct EvalArgs {
  std::string model = "models/mnist.gcm";
  std::string split = "test";
  std::string dataset;  // default: the dataset the model was trained on
  std::string data_dir;
  int threads = 0;
  std::string trusted_keys;
  std::string conv_algo = "auto";
};

void run_eval(const EvalArgs& a) {
  omp_set_num_threads(a.threads > 0 ? a.threads : omp_get_num_procs());
  cpu::set_conv_algo(cpu::parse_conv_algo(a.conv_algo));
  const auto trusted = load_trusted_keys(a.trusted_keys);
  LoadedModel loaded = load_model_or_onnx(a.model, trusted ? &*trusted : nullptr);
  std::string dataset_name = a.dataset.empty() ? loaded.info.dataset : a.dataset;
  auto kind = data::parse_dataset_kind(dataset_name);
  data::Dataset set = data::load_dataset(kind, data::parse_split(a.split), a.data_dir);
  data::LoaderOptions options;
  options.mean = static_cast<float>(loaded.info.input_mean);
  options.std = static_cast<float>(loaded.info.input_std);
  data::DataLoader loader(set, options);
  const ModelInfo info = loaded.info;
  // The Classifier: the compiled inference plan (infer/plan.h), or an int8
  // model's runner, as serve and predict run them.
  infer::Classifier classifier(std::move(loaded));
  const std::string precision = classifier.precision();
  const training::Evaluation e = training::evaluate(
      [&](const Tensor& x) {
        Tensor logits = Tensor::empty({x.dim(0), classifier.classes()});
        classifier.forward(x.data<float>(), x.dim(0), logits.data<float>());
        return logits;
      },
      loader, 1000);
  if (e.non_finite > 0)
    throw Failure(a.model + ": the model gives a NaN or infinite logit for " + std::to_string(e.non_finite) +
                  " of " + std::to_string(e.count) + " images; no accuracy to report");

  std::printf("model %s (%s v%lld, %s) on %s %s: %lld images\n", a.model.c_str(), info.name.c_str(),
              static_cast<long long>(info.version), precision.c_str(), dataset_name.c_str(), a.split.c_str(),
              static_cast<long long>(e.count));
  std::printf("accuracy %.2f%% (%lld / %lld), mean loss %.4f\n\n", 100 * e.accuracy(),
              static_cast<long long>(e.correct), static_cast<long long>(e.count), e.loss);
  std::printf("per class:\n");
  for (int c = 0; c < e.classes; ++c)
    std::printf("  %-12s %6.2f%%\n", info.labels[c].c_str(), 100 * e.class_accuracy(c));
  std::printf("\nconfusion matrix (rows: true, columns: predicted):\n      ");
  for (int p = 0; p < e.classes; ++p) std::printf("%6d", p);
  std::printf("\n");
  for (int t = 0; t < e.classes; ++t) {
    std::printf("  %3d ", t);
    for (int p = 0; p < e.classes; ++p) std::printf("%6lld", static_cast<long long>(e.confusion[t * e.classes + p]));
    std::printf("\n");
  }
}

void setup(CLI::App& app) {
  auto args = std::make_shared<EvalArgs>();
  CLI::App* cmd = app.add_subcommand("eval", "Evaluate a saved model: accuracy, per-class accuracy, confusion matrix");
  cmd->add_option("--model", args->model, "Model file (.gcm, or .onnx imported on the fly)")->capture_default_str();
  cmd->add_option("--split", args->split, "test or train")->capture_default_str();
  cmd->add_option("--dataset", args->dataset, "mnist or fashion (default: what the model was trained on)");
  cmd->add_option("--data", args->data_dir, "Directory with the IDX files");
  cmd->add_option("--threads", args->threads, "Threads (default: all cores)");
  cmd->add_option("--trusted-keys", args->trusted_keys, kTrustedKeysHelp);
  add_conv_algo_option(cmd, args->conv_algo);
  cmd->callback([args] { run_eval(*args); });
}

CommandRegistration registration{"eval", setup};

}  // namespace
}  // namespace gc::tools
