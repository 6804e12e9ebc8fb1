// gradcore grads: one forward + backward on a few dataset images, written as a
// .gcm file so another framework can check every number (tests/parity).
//
// Section "model": the weights the gradients were taken at, with
// model.architecture and input.shape, so the file also loads as a model.
// Section "grads": tensors input [N, 1, 28, 28] (normalised as in training),
// labels (i32), logits [N, classes], loss [] and grad.<param> for every
// parameter; metadata split, indices, loss, and with --adam-steps K the loss
// before each of K Adam steps from those weights on the same batch
// (adam.losses, adam.lr). The model runs in evaluation mode (dropout off).
#include <cstdio>
#include <filesystem>

#include "engine/ops.h"
#include "kernels/cpu/conv2d.h"
#include "layers/optimizer.h"
#include "layers/spec.h"
#include "serialize/model_io.h"
#include "serialize/model_store.h"
#include "tools/command.h"
#include "tools/data/dataset.h"
#include "tools/data/loader.h"

namespace gc::tools {
namespace {

using serialize::TensorRecord;

struct GradsArgs {
  std::string model = "models/mnist.gcm";
  uint64_t seed = 1;  // when --model is a preset or spec: its initialisation
  std::string split = "test";
  std::string data_dir;
  int64_t index = 0;
  int64_t count = 16;
  std::string out = "grads.gcm";
  int64_t adam_steps = 0;
  double lr = 1e-3;
  std::string conv_algo = "auto";
};

TensorRecord record(const std::string& name, const Tensor& t) {
  Tensor f = t.dtype() == DType::F32 ? t : t.to(DType::F32);
  return TensorRecord::from_floats(name, f.shape().to_vector(), f.data<float>());
}

// A model file, or a preset/spec freshly initialised with `seed` (then with
// the default model metadata: MNIST's labels and normalisation).
LoadedModel open_model(const GradsArgs& a) {
  if (std::filesystem::exists(a.model) || a.model.ends_with(".gcm")) return load_model(a.model);
  LoadedModel fresh;
  fresh.model = build_model(a.model);
  check_model_input(*fresh.model, {1, 28, 28});
  fresh.model->reset_parameters(a.seed, "he");
  return fresh;
}

void run_grads(const GradsArgs& a) {
  if (a.count < 1) throw Failure("--count must be ≥ 1, got " + std::to_string(a.count));
  if (a.adam_steps < 0) throw Failure("--adam-steps must be ≥ 0, got " + std::to_string(a.adam_steps));
  cpu::set_conv_algo(cpu::parse_conv_algo(a.conv_algo));
  LoadedModel opened = open_model(a);
  std::unique_ptr<Sequential>& model = opened.model;
  model->set_training_mode(false);

  data::Dataset set = data::load_dataset(data::DatasetKind::mnist, data::parse_split(a.split), a.data_dir);
  if (a.index < 0 || a.index + a.count > set.size())
    throw Failure("--index " + std::to_string(a.index) + " --count " + std::to_string(a.count) + " runs past the " +
                  std::to_string(set.size()) + " images of " + set.name);
  data::DataLoader loader(set, {});
  Tensor x = Tensor::empty({a.count, 1, 28, 28});
  std::vector<int32_t> labels(static_cast<size_t>(a.count));
  loader.gather(a.index, a.count, x.data<float>(), labels.data());

  serialize::ModelFile file;
  put_model_metadata(file, *model, opened.info);
  for (ParamRef p : model->parameters()) file.add_tensor(record(p.name, *p.tensor));

  Tensor logits = (*model)(x);
  Tensor loss = softmax_cross_entropy(logits, labels);
  loss.backward();
  serialize::Section& grads = file.add_section("grads");
  std::vector<int64_t> indices;
  for (int64_t i = 0; i < a.count; ++i) indices.push_back(a.index + i);
  grads.metadata["split"] = a.split;
  grads.metadata["indices"] = indices;
  grads.metadata["loss"] = loss.item();
  grads.metadata["mode"] = std::string("eval");
  grads.metadata["conv_algo"] = a.conv_algo;
  grads.add_tensor(record("input", x));
  grads.add_tensor(TensorRecord::from_i32s("labels", {a.count}, labels.data()));
  grads.add_tensor(record("logits", logits.detach()));
  grads.add_tensor(record("loss", loss.detach()));
  for (ParamRef p : model->parameters()) {
    if (!p.tensor->grad().defined()) throw Failure("parameter " + p.name + " got no gradient");
    grads.add_tensor(record("grad." + p.name, p.tensor->grad()));
  }
  std::printf("%s: %lld %s images from index %lld, loss %.6f, %zu parameter gradients\n", a.model.c_str(),
              static_cast<long long>(a.count), a.split.c_str(), static_cast<long long>(a.index), loss.item(),
              model->parameters().size());

  if (a.adam_steps > 0) {
    // The loss before each step; the first equals `loss` above.
    Adam adam(model->parameters(), a.lr, AdamOptions{});
    std::vector<double> losses;
    for (int64_t s = 0; s < a.adam_steps; ++s) {
      adam.zero_grad();
      Tensor l = softmax_cross_entropy((*model)(x), labels);
      losses.push_back(l.item());
      l.backward();
      adam.step();
    }
    grads.metadata["adam.losses"] = losses;
    grads.metadata["adam.lr"] = a.lr;
    std::printf("%lld Adam steps (lr %g): loss %.6f -> %.6f\n", static_cast<long long>(a.adam_steps), a.lr,
                losses.front(), losses.back());
  }
  serialize::write_model_file(a.out, file);
  std::printf("written to %s\n", a.out.c_str());
}

void setup(CLI::App& app) {
  auto a = std::make_shared<GradsArgs>();
  CLI::App* cmd = app.add_subcommand("grads", "Dump input, logits, loss and every parameter gradient of a batch (.gcm)");
  cmd->add_option("--model", a->model, "Model file, or a preset/spec initialised with --seed")->capture_default_str();
  cmd->add_option("--seed", a->seed, "Initialisation seed when --model is a preset or spec")->capture_default_str();
  cmd->add_option("--data", a->split, "Split: test or train")->capture_default_str();
  cmd->add_option("--data-dir", a->data_dir, "Directory with the MNIST IDX files (default: data/mnist)");
  cmd->add_option("--index", a->index, "First image")->capture_default_str();
  cmd->add_option("--count", a->count, "Images in the batch")->capture_default_str();
  cmd->add_option("--out", a->out, "Output .gcm file")->capture_default_str();
  cmd->add_option("--adam-steps", a->adam_steps, "Also record the losses of K Adam steps on the batch")
      ->capture_default_str();
  cmd->add_option("--lr", a->lr, "Adam learning rate for --adam-steps")->capture_default_str();
  add_conv_algo_option(cmd, a->conv_algo);
  cmd->callback([a] { run_grads(*a); });
}

CommandRegistration registration{"grads", setup};

}  // namespace
}  // namespace gc::tools
