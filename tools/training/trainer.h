// The training loop behind `gradcore train`: batches from a DataLoader,
// forward, softmax cross-entropy, backward, optimizer step, a learning-rate
// schedule; evaluation, the best model and a checkpoint after every epoch;
// progress on the terminal and metrics as JSONL.
//
// With a fixed seed and thread count the run is bitwise reproducible, and a
// run resumed from a checkpoint continues exactly as if never stopped.
//
// Data-parallel (given a Communicator, docs/DISTRIBUTED.md): every rank reads
// the same seeded sequence of global batches and trains on its share of each
// batch's rows (rank r of N: rows [b·r/N, b·(r+1)/N)); its loss is its rows'
// share of the global mean, the gradients are summed over the ranks during
// backward (distributed/gradient_reducer.h), and every rank takes the same
// step. Rank 0's weights and optimizer state are copied to every rank at the
// start and after a resume; evaluation splits the test set and sums the
// counts. The global order of images is a 1-process run's, and the sums are
// those of one process with --micro-batches N (gradient accumulation).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "distributed/communicator.h"
#include "layers/optimizer.h"
#include "layers/schedule.h"
#include "layers/sequential.h"
#include "serialize/model_store.h"
#include "tools/data/loader.h"
#include "tools/training/evaluate.h"

namespace gc::training {

struct TrainOptions {
  std::string model = "seed-cnn";  // preset or spec
  std::string init = "he";
  int64_t epochs = 5;
  int64_t batch = 128;
  std::string optimizer = "adam";
  double lr = 1e-3;
  double momentum = 0.9;
  double weight_decay = -1;  // < 0: the optimizer's default
  std::string schedule = "constant";
  uint64_t seed = 1;
  bool augment = false;
  std::string dataset = "mnist";
  int64_t train_limit = 0;  // use only the first N training images (0: all)
  int64_t test_limit = 0;   // evaluate on the first N test images (0: all)
  int64_t max_steps = 0;    // stop (and checkpoint) after this many steps in total (0: no limit)
  int64_t log_every = 100;  // a JSONL step line every N steps
  std::string device = "cpu";  // cpu, cuda, or cuda-emu (the CUDA kernels on the emulator)
  std::string conv_algo = "auto";  // the CPU convolution method (kernels/cpu/conv2d.h), applied by the caller
  int64_t world_size = 1;          // ranks of a --distributed run (a checkpoint resumes only with as many)
  int64_t bucket_kib = 1024;       // gradient bucket size of a --distributed run (distributed/gradient_reducer.h)
  // Gradient accumulation: each batch in this many slices, one forward and
  // backward each. With N, one process adds the gradients as N ranks do:
  // the same bits as `mpirun -np N ... --distributed mpi`.
  int64_t micro_batches = 1;

  std::string to_json() const;
  static TrainOptions from_json(const std::string& json);
};

struct EpochResult {
  int64_t epoch = 0;
  double train_loss = 0;
  Evaluation test;
  double seconds = 0;
  double images_per_second = 0;
};

// Where the loop reports to; any member may be empty.
struct TrainCallbacks {
  std::function<void(int64_t step, int64_t epoch, double loss, double lr)> on_step;
  std::function<void(const EpochResult&)> on_epoch;
  // Progress within an epoch: batches done, batches in the epoch, running loss.
  std::function<void(int64_t done, int64_t total, double running_loss)> on_batch;
  // Around the first backward (graph dumps and traces: backward frees the tape),
  // and around each optimizer step (statistics).
  std::function<void(const Tensor& loss)> before_first_backward;
  std::function<void(const Tensor& loss)> after_first_backward;
  std::function<void(int64_t step)> before_update;
  std::function<void(int64_t step)> after_update;
};

class Trainer {
 public:
  // communicator: null for a 1-process run; else it must outlive the trainer.
  Trainer(TrainOptions options, const data::Dataset& train, const data::Dataset& test,
          distributed::Communicator* communicator = nullptr);

  // Continues from a checkpoint's model, optimizer and loader state.
  void resume(LoadedModel checkpoint);
  // Fine-tuning: starts from a saved or imported model's weights (its
  // architecture must be options.model, its preprocessing the loader's) with
  // a fresh optimizer; the models saved keep the original's origin.* metadata.
  void start_from(LoadedModel model);
  // Trains until options.epochs are complete or max_steps is reached.
  std::vector<EpochResult> run(const TrainCallbacks& callbacks = {});
  // Seconds the gradient sums were not hidden behind backward (data-parallel).
  double exposed_communication_seconds() const { return exposed_seconds_; }

  Sequential& model() { return *model_; }
  Optimizer& optimizer() { return *optimizer_; }
  ModelInfo model_info() const;
  TrainingCheckpoint checkpoint() const;
  int64_t step() const { return step_; }
  int64_t epochs_done() const { return epochs_done_; }
  double best_accuracy() const { return best_accuracy_; }
  const TrainOptions& options() const { return options_; }

 private:
  void make_optimizer();
  // Data-parallel: every rank checks it holds rank 0's architecture, then
  // takes rank 0's weights and optimizer state.
  void share_from_rank_0();
  Evaluation evaluate_test_set();

  TrainOptions options_;
  const data::Dataset& train_;
  const data::Dataset& test_;
  data::Dataset train_subset_;
  std::unique_ptr<data::DataLoader> loader_;
  std::unique_ptr<data::DataLoader> test_loader_;
  std::unique_ptr<Sequential> model_;
  ModelInfo::Origin origin_;
  std::unique_ptr<Optimizer> optimizer_;
  Schedule schedule_;
  int64_t step_ = 0;
  int64_t epochs_done_ = 0;
  double best_accuracy_ = -1;
  double last_accuracy_ = -1;
  distributed::Communicator* communicator_ = nullptr;
  double exposed_seconds_ = 0;
};

}  // namespace gc::training
