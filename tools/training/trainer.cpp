#include "tools/training/trainer.h"

#include <chrono>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "distributed/gradient_reducer.h"
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
                      {"conv_algo", conv_algo}, {"world_size", world_size},
                      {"micro_batches", micro_batches}};
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
  o.world_size = j.value("world_size", int64_t{1});
  o.micro_batches = j.value("micro_batches", int64_t{1});
  return o;
}

static data::LoaderOptions loader_options(const TrainOptions& o, bool augment) {
  data::LoaderOptions l;
  l.batch_size = o.batch;
  l.seed = o.seed;
  l.augmentation.enabled = augment;
  return l;
}

Trainer::Trainer(TrainOptions options, const data::Dataset& train, const data::Dataset& test,
                 distributed::Communicator* communicator)
    : options_(std::move(options)), train_(train), test_(test), communicator_(communicator) {
  options_.world_size = communicator_ ? communicator_->size() : 1;
  if (options_.batch < 1) throw std::invalid_argument("train: --batch must be ≥ 1, got " + std::to_string(options_.batch));
  if (options_.epochs < 1) throw std::invalid_argument("train: --epochs must be ≥ 1, got " + std::to_string(options_.epochs));
  if (!(options_.lr > 0)) throw std::invalid_argument("train: --lr must be > 0");
  if (options_.micro_batches < 1 || options_.micro_batches > options_.batch)
    throw std::invalid_argument("train: --micro-batches must be from 1 to --batch, got " +
                                std::to_string(options_.micro_batches));
  if (communicator_ && options_.micro_batches != 1)
    throw std::invalid_argument("train: --micro-batches is for one process; with --distributed each rank's share "
                                "of the batch is its micro-batch");
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
  share_from_rank_0();
}

namespace {

// Rank 0's bytes of t on every rank.
void broadcast_tensor(distributed::Communicator& c, Tensor& t) {
  if (t.device() == Device::CPU) return c.broadcast(t.raw_data(), t.bytes(), 0);
  Tensor host = t.to(Device::CPU);
  c.broadcast(host.raw_data(), host.bytes(), 0);
  t.copy_from(host.to(t.device()));
}

// Whether every rank's `text` is rank 0's (every rank learns the answer).
bool same_on_every_rank(distributed::Communicator& c, const std::string& text) {
  uint64_t length = text.size();
  c.broadcast(&length, sizeof length, 0);
  std::string root = c.rank() == 0 ? text : std::string(length, '\0');
  c.broadcast(root.data(), length, 0);
  double differ = root == text ? 0 : 1;
  c.sum(&differ, 1);
  return differ == 0;
}

}  // namespace

void Trainer::share_from_rank_0() {
  if (!communicator_) return;
  distributed::Communicator& c = *communicator_;
  if (!same_on_every_rank(c, model_->spec()))
    throw std::invalid_argument("train --distributed: the ranks built different architectures (rank " +
                                std::to_string(c.rank()) + ": '" + model_->spec() + "')");
  for (ParamRef p : model_->parameters()) broadcast_tensor(c, *p.tensor);
  OptimizerState state = optimizer_->state();
  std::string names = state.kind;
  for (const auto& [name, buffer] : state.buffers) names += " " + name;
  if (!same_on_every_rank(c, names))
    throw std::invalid_argument("train --distributed: the ranks hold different optimizer states (rank " +
                                std::to_string(c.rank()) + ": '" + names + "')");
  for (auto& [name, buffer] : state.buffers) broadcast_tensor(c, buffer);
  optimizer_->load_state(state);
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
  share_from_rank_0();
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
  share_from_rank_0();
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

// Data-parallel: each rank evaluates its part of the test set; the counts,
// summed over the ranks, are the whole set's.
Evaluation Trainer::evaluate_test_set() {
  // Evaluating at the training batch size reuses the cached activation buffers
  // (a larger batch would add its own, and peak memory with them).
  if (!communicator_) return evaluate(*model_, *test_loader_, options_.batch, options_.test_limit);
  distributed::Communicator& c = *communicator_;
  Evaluation e = evaluate(*model_, *test_loader_, options_.batch, options_.test_limit, {c.rank(), c.size()});
  constexpr int kClasses = 10;  // every rank's model outputs 10 (checked by the constructor)
  e.classes = kClasses;
  e.confusion.resize(kClasses * kClasses);  // empty on a rank with no test images
  std::vector<double> counts = {double(e.count), double(e.correct), e.loss * double(e.count), double(e.non_finite)};
  counts.insert(counts.end(), e.confusion.begin(), e.confusion.end());
  c.sum(counts.data(), counts.size());
  e.count = int64_t(counts[0]);
  e.correct = int64_t(counts[1]);
  e.loss = e.count ? counts[2] / counts[0] : 0;
  e.non_finite = int64_t(counts[3]);
  for (size_t k = 0; k < e.confusion.size(); ++k) e.confusion[k] = int64_t(counts[4 + k]);
  return e;
}

std::vector<EpochResult> Trainer::run(const TrainCallbacks& cb) {
  std::vector<EpochResult> results;
  std::vector<int32_t> labels;
  const Device device = parse_device(options_.device);
  model_->set_training_mode(true);
  std::unique_ptr<distributed::GradientReducer> reducer;
  if (communicator_)
    reducer = std::make_unique<distributed::GradientReducer>(*communicator_, model_->parameters(),
                                                              static_cast<size_t>(options_.bucket_kib) * 1024 / 4);
  const int64_t parts = communicator_ ? options_.world_size : options_.micro_batches;
  const int64_t first_part = communicator_ ? communicator_->rank() : 0,
                end_part = communicator_ ? first_part + 1 : options_.micro_batches;
  while (epochs_done_ < options_.epochs) {
    auto start = std::chrono::steady_clock::now();
    double loss_sum = 0;
    int64_t batches = 0, images = 0, total = loader_->batches_per_epoch();
    bool stopped = false;
    for (data::BatchView batch = loader_->next(); batch.size > 0; batch = loader_->next()) {
      optimizer_->set_lr(schedule_.lr_at(step_));
      double loss_value = 0;
      // The batch's rows in `parts` slices: this rank's slice, or every
      // micro-batch in turn, their gradients adding up in .grad.
      for (int64_t part = first_part; part < end_part; ++part) {
        const int64_t first = batch.size * part / parts, rows = batch.size * (part + 1) / parts - first;
        if (rows == 0) continue;
        Tensor x = Tensor::empty({rows, 1, 28, 28});
        std::copy_n(batch.images + first * 28 * 28, x.numel(), x.data<float>());
        if (device != Device::CPU) x = x.to(device);
        labels.assign(batch.labels + first, batch.labels + first + rows);
        Tensor loss = softmax_cross_entropy((*model_)(x), labels);
        // The rows' share of the batch's mean loss.
        if (rows != batch.size) loss = scale(loss, static_cast<double>(rows) / static_cast<double>(batch.size));
        loss_value += loss.item();
        const bool first_backward = step_ == 0 && part == first_part;
        if (first_backward && cb.before_first_backward) cb.before_first_backward(loss);
        loss.backward();
        if (first_backward && cb.after_first_backward) cb.after_first_backward(loss);
      }
      if (reducer) {
        reducer->finish();
        communicator_->sum(&loss_value, 1);
      }
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
    r.test = evaluate_test_set();
    last_accuracy_ = r.test.accuracy();
    results.push_back(r);
    if (cb.on_epoch) cb.on_epoch(r);
    best_accuracy_ = std::max(best_accuracy_, last_accuracy_);
  }
  if (reducer) exposed_seconds_ = reducer->exposed_seconds();
  return results;
}

}  // namespace gc::training
