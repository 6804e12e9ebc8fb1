#include "tools/training/trainer.h"

#include <chrono>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "engine/ops.h"
#include "layers/spec.h"

namespace gc::training {

std::string TrainOptions::to_json() const {
  nlohmann::json j = {{"model", model},         {"init", init},
                      {"epochs", epochs},       {"batch", batch},
                      {"optimizer", optimizer}, {"lr", lr},
                      {"momentum", momentum},   {"weight_decay", weight_decay},
                      {"schedule", schedule},   {"seed", seed},
                      {"augment", augment},     {"dataset", dataset},
                      {"train_limit", train_limit}, {"test_limit", test_limit},
                      {"log_every", log_every}, {"device", device},
                      {"conv_algo", conv_algo}};
  return j.dump();
}

TrainOptions TrainOptions::from_json(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text);
  TrainOptions o;
  o.model = j.at("model");
  o.init = j.at("init");
  o.epochs = j.at("epochs");
  o.batch = j.at("batch");
  o.optimizer = j.at("optimizer");
  o.lr = j.at("lr");
  o.momentum = j.at("momentum");
  o.weight_decay = j.at("weight_decay");
  o.schedule = j.at("schedule");
  o.seed = j.at("seed");
  o.augment = j.at("augment");
  o.dataset = j.at("dataset");
  o.train_limit = j.at("train_limit");
  o.test_limit = j.at("test_limit");
  o.log_every = j.at("log_every");
  o.device = j.value("device", "cpu");
  o.conv_algo = j.value("conv_algo", "auto");
  return o;
}

static data::LoaderOptions loader_options(const TrainOptions& o, bool augment) {
  data::LoaderOptions l;
  l.batch_size = o.batch;
  l.seed = o.seed;
  l.augmentation.enabled = augment;
  return l;
}

Trainer::Trainer(TrainOptions options, const data::Dataset& train, const data::Dataset& test)
    : options_(std::move(options)), train_(train), test_(test) {
  if (options_.batch < 1) throw std::invalid_argument("train: --batch must be ≥ 1, got " + std::to_string(options_.batch));
  if (options_.epochs < 1) throw std::invalid_argument("train: --epochs must be ≥ 1, got " + std::to_string(options_.epochs));
  if (!(options_.lr > 0)) throw std::invalid_argument("train: --lr must be > 0");
  if (options_.train_limit > 0) train_subset_ = train_.head(options_.train_limit);
  const data::Dataset& used = options_.train_limit > 0 ? train_subset_ : train_;
  loader_ = std::make_unique<data::DataLoader>(used, loader_options(options_, options_.augment));
  test_loader_ = std::make_unique<data::DataLoader>(test_, loader_options(options_, false));
  model_ = build_model(options_.model);
  Shape out = check_model_input(*model_, {1, 28, 28});
  if (out != Shape{1, 10})
    throw std::invalid_argument("train: model '" + options_.model + "' outputs " + out.str() +
                                " per image; the 10 classes need [1, 10]");
  model_->reset_parameters(options_.seed, options_.init);
  model_->set_seed(options_.seed);
  model_->move_parameters(parse_device(options_.device));
  make_optimizer();
}

void Trainer::make_optimizer() {
  optimizer_ = gc::make_optimizer(options_.optimizer, model_->parameters(), options_.lr, options_.momentum,
                                  options_.weight_decay);
  schedule_ = make_schedule(options_.schedule, options_.lr, options_.epochs * loader_->batches_per_epoch());
}

void Trainer::resume(LoadedModel loaded) {
  if (!loaded.checkpoint) throw std::invalid_argument("train --resume: the file holds a model but no checkpoint sections");
  if (loaded.model->spec() != model_->spec())
    throw std::invalid_argument("train --resume: checkpoint architecture '" + loaded.model->spec() +
                                "' differs from '" + model_->spec() + "'");
  model_ = std::move(loaded.model);
  model_->set_seed(options_.seed);
  model_->move_parameters(parse_device(options_.device));
  make_optimizer();
  const TrainingCheckpoint& c = *loaded.checkpoint;
  optimizer_->load_state(c.optimizer);
  std::array<uint64_t, data::LoaderState::kWords> words{};
  if (c.loader_state.size() != words.size())
    throw std::invalid_argument("train --resume: loader state has " + std::to_string(c.loader_state.size()) +
                                " words, expected " + std::to_string(words.size()));
  std::copy(c.loader_state.begin(), c.loader_state.end(), words.begin());
  loader_->restore(data::LoaderState::from_words(words));
  step_ = c.step;
  epochs_done_ = c.epoch;
  best_accuracy_ = c.best_accuracy;
}

void Trainer::start_from(LoadedModel loaded) {
  if (loaded.model->spec() != model_->spec())
    throw std::invalid_argument("train --init-from: architecture '" + loaded.model->spec() + "' differs from '" +
                                model_->spec() + "'");
  const ModelInfo& i = loaded.info;
  const ModelInfo ours;
  // Compared in float: an import of a --raw-input export holds them as floats.
  if (static_cast<float>(i.input_scale) != static_cast<float>(ours.input_scale) ||
      static_cast<float>(i.input_mean) != data::kMnistMean || static_cast<float>(i.input_std) != data::kMnistStd)
    throw std::invalid_argument("train --init-from: the model expects (pixel * " + std::to_string(i.input_scale) +
                                " - " + std::to_string(i.input_mean) + ") / " + std::to_string(i.input_std) +
                                " as input, but training feeds (pixel / 255 - 0.1307) / 0.3081");
  model_ = std::move(loaded.model);
  for (ParamRef p : model_->parameters()) p.tensor->requires_grad_();
  model_->set_seed(options_.seed);
  model_->move_parameters(parse_device(options_.device));
  origin_ = i.origin;
  make_optimizer();
}

ModelInfo Trainer::model_info() const {
  ModelInfo info;
  info.origin = origin_;
  info.dataset = options_.dataset;
  const auto& names = data::class_names(data::parse_dataset_kind(options_.dataset));
  info.labels.assign(names.begin(), names.end());
  info.epochs = epochs_done_;
  info.seed = static_cast<int64_t>(options_.seed);
  info.test_accuracy = last_accuracy_;
  return info;
}

TrainingCheckpoint Trainer::checkpoint() const {
  TrainingCheckpoint c;
  c.optimizer = optimizer_->state();
  auto words = loader_->state().to_words();
  c.loader_state.assign(words.begin(), words.end());
  c.epoch = epochs_done_;
  c.step = step_;
  c.best_accuracy = best_accuracy_;
  c.options = options_.to_json();
  return c;
}

std::vector<EpochResult> Trainer::run(const TrainCallbacks& cb) {
  std::vector<EpochResult> results;
  std::vector<int32_t> labels;
  const Device device = parse_device(options_.device);
  model_->set_training_mode(true);
  while (epochs_done_ < options_.epochs) {
    auto start = std::chrono::steady_clock::now();
    double loss_sum = 0;
    int64_t batches = 0, images = 0, total = loader_->batches_per_epoch();
    bool stopped = false;
    for (data::BatchView batch = loader_->next(); batch.size > 0; batch = loader_->next()) {
      Tensor x = Tensor::empty({batch.size, 1, 28, 28});
      std::copy_n(batch.images, x.numel(), x.data<float>());
      if (device != Device::CPU) x = x.to(device);
      labels.assign(batch.labels, batch.labels + batch.size);

      optimizer_->set_lr(schedule_.lr_at(step_));
      Tensor loss = softmax_cross_entropy((*model_)(x), labels);
      double loss_value = loss.item();
      if (step_ == 0 && cb.before_first_backward) cb.before_first_backward(loss);
      loss.backward();
      if (step_ == 0 && cb.after_first_backward) cb.after_first_backward(loss);
      if (cb.before_update) cb.before_update(step_);
      optimizer_->step();
      if (cb.after_update) cb.after_update(step_);
      optimizer_->zero_grad();
      ++step_;

      loss_sum += loss_value;
      images += batch.size;
      ++batches;
      if (cb.on_batch) cb.on_batch(batches, total, loss_sum / static_cast<double>(batches));
      if (cb.on_step && options_.log_every > 0 && step_ % options_.log_every == 0)
        cb.on_step(step_, epochs_done_, loss_value, optimizer_->lr());
      if (options_.max_steps > 0 && step_ >= options_.max_steps) {
        stopped = true;
        break;
      }
    }
    if (stopped) break;
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EpochResult r;
    r.epoch = ++epochs_done_;
    r.train_loss = batches ? loss_sum / static_cast<double>(batches) : 0;
    r.seconds = seconds;
    r.images_per_second = static_cast<double>(images) / seconds;
    // Evaluating at the training batch size reuses the cached activation buffers
    // (a larger batch would add its own, and peak memory with them).
    r.test = evaluate(*model_, *test_loader_, options_.batch, options_.test_limit);
    last_accuracy_ = r.test.accuracy();
    results.push_back(r);
    if (cb.on_epoch) cb.on_epoch(r);
    best_accuracy_ = std::max(best_accuracy_, last_accuracy_);
  }
  return results;
}

}  // namespace gc::training
