// gradcore train: train a model on MNIST or Fashion-MNIST, saving the best
// model and a checkpoint every epoch. Under `mpirun -np N ... --distributed
// mpi`, data-parallel over N ranks (docs/DISTRIBUTED.md): rank 0 alone
// prints and writes files; an error on any rank ends the whole job.
#include <omp.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "distributed/load_mpi.h"
#include "engine/cuda_backend.h"
#include "engine/graph_dump.h"
#include "kernels/cpu/conv2d.h"
#include "layers/spec.h"
#include "serialize/model_store.h"
#include "serialize/onnx_load.h"
#include "tools/command.h"
#include "tools/data/dataset.h"
#include "tools/progress.h"
#include "tools/training/stats.h"
#include "tools/training/trainer.h"

namespace gc::tools {
namespace {

struct TrainArgs {
  training::TrainOptions options;
  std::string out = "models/mnist.gcm";
  std::string checkpoint;  // default: <out without .gcm>.ckpt.gcm
  std::string data_dir;
  std::string resume;
  std::string init_from;  // fine-tune: start from this model's weights (.gcm or .onnx)
  std::string metrics;     // default: <out without .gcm>.metrics.jsonl
  std::string device = "cpu";
  std::string kernels = "ours";  // CUDA kernel set: ours or vendor (cuBLAS / cuDNN)
  int threads = 0;
  std::string name = "mnist";  // model.name / model.version in the saved file (the server reports them)
  int64_t version = 1;
  std::string dump_graph;   // DOT of the first step's tape
  bool trace_backward = false;
  int64_t stats_every = 0;  // per-layer statistics every N steps (0: off)
  std::string stats;        // default: <out without .gcm>.stats.jsonl
  std::string distributed;  // "mpi": data-parallel over the ranks mpirun started
  double distributed_timeout = 60;  // seconds a collective may wait for the other ranks
};

std::string sibling(const std::string& out, const std::string& suffix) {
  std::filesystem::path p(out);
  return (p.parent_path() / (p.stem().string() + suffix)).string();
}

// --dump-graph and --trace-backward look at the first step's tape.
void add_tape_inspection(const TrainArgs& a, training::Trainer& trainer, training::TrainCallbacks& cb) {
  if (a.dump_graph.empty() && !a.trace_backward) return;
  auto graph = std::make_shared<GraphSnapshot>();
  cb.before_first_backward = [&a, &trainer, graph](const Tensor& loss) {
    if (!a.dump_graph.empty()) {
      for (ParamRef p : trainer.model().parameters()) p.tensor->set_name(p.name);
      *graph = snapshot_graph(loss);
      set_record_grad_norms(true);
    }
    if (a.trace_backward) {
      std::printf("backward trace of the first step (execution order):\n");
      set_backward_observer([](const BackwardEvent& e) { std::printf("  %s\n", describe_backward(e).c_str()); });
    }
  };
  cb.after_first_backward = [&a, graph](const Tensor&) {
    set_backward_observer(nullptr);
    set_record_grad_norms(false);
    if (a.dump_graph.empty()) return;
    std::ofstream out(a.dump_graph);
    out << graph_to_dot(*graph);
    if (!out) throw Failure("cannot write " + a.dump_graph);
    *graph = {};
    std::printf("autograd graph of the first step written to %s (render: dot -Tsvg %s -o graph.svg)\n",
                a.dump_graph.c_str(), a.dump_graph.c_str());
  };
}

// Rank 0 of a data-parallel run, or the one process of any other.
bool writes_files(const distributed::Communicator* communicator) {
  return !communicator || communicator->rank() == 0;
}

void train(TrainArgs& a, const CLI::App& cmd, distributed::Communicator* communicator) {
  const bool writer = writes_files(communicator);
  const int64_t world_size = communicator ? communicator->size() : 1;
  if (a.kernels == "vendor" && a.device == "cpu")
    throw Failure("--kernels vendor picks cuBLAS/cuDNN for --device cuda; --device cpu uses neither");
  set_cuda_kernel_set(a.kernels);  // before any tensor or model is built
  // A device that cannot run (no GPU; vendor on cuda-emu) fails before any data is read.
  if (a.device != "cpu") cuda_kernels(parse_device(a.device));
  a.options.device = a.device;
  // By default the ranks on one machine share its cores.
  const int ranks_here = communicator ? communicator->local_size() : 1;
  omp_set_num_threads(a.threads > 0 ? a.threads : std::max(1, omp_get_num_procs() / ranks_here));

  std::optional<LoadedModel> resumed;
  if (!a.resume.empty()) {
    resumed = load_model(a.resume);
    if (!resumed->checkpoint) throw Failure(a.resume + ": holds a model but no checkpoint (optimizer/loader sections)");
    // A resume continues the saved run: its options, with --epochs and
    // --max-steps as given here.
    auto saved = training::TrainOptions::from_json(resumed->checkpoint->options);
    if (cmd.count("--epochs")) saved.epochs = a.options.epochs;
    saved.max_steps = a.options.max_steps;
    if (cmd.count("--conv-algo")) saved.conv_algo = a.options.conv_algo;
    if (saved.world_size != world_size)
      throw Failure(a.resume + ": written by a run on " + std::to_string(saved.world_size) +
                    " rank(s); resume it on as many (this run has " + std::to_string(world_size) +
                    "): the gradient sums' rounding depends on the number of ranks");
    a.options = saved;
    a.options.device = a.device;
  }
  std::optional<LoadedModel> initial;
  if (!a.init_from.empty()) {
    if (!a.resume.empty()) throw Failure("--init-from starts a new run and --resume continues one: give one of them");
    initial = load_model_or_onnx(a.init_from);
    a.options.model = initial->model->spec();  // the architecture comes with the weights
  }
  cpu::set_conv_algo(cpu::parse_conv_algo(a.options.conv_algo));
  if (a.checkpoint.empty()) a.checkpoint = sibling(a.out, ".ckpt.gcm");
  if (a.metrics.empty()) a.metrics = sibling(a.out, ".metrics.jsonl");
  if (a.stats.empty()) a.stats = sibling(a.out, ".stats.jsonl");
  if (a.stats_every < 0) throw Failure("--stats-every must be ≥ 0 (0: off), got " + std::to_string(a.stats_every));

  build_model(a.options.model);  // a bad spec fails before any data is read
  auto kind = data::parse_dataset_kind(a.options.dataset);
  data::Dataset train = data::load_dataset(kind, data::Split::train, a.data_dir);
  data::Dataset test = data::load_dataset(kind, data::Split::test, a.data_dir);

  training::Trainer trainer(a.options, train, test, communicator);
  if (resumed) trainer.resume(std::move(*resumed));
  if (initial) trainer.start_from(std::move(*initial));
  std::ofstream metrics;
  if (writer) {
    std::filesystem::create_directories(std::filesystem::path(a.out).parent_path().empty()
                                            ? "." : std::filesystem::path(a.out).parent_path());
    metrics.open(a.metrics, resumed ? std::ios::app : std::ios::trunc);
    if (!metrics) throw Failure("cannot open metrics log " + a.metrics);
  }

  if (world_size > 1 && writer)
    std::printf("data-parallel on %lld ranks (MPI): each takes its share of every batch of %lld\n",
                static_cast<long long>(world_size), static_cast<long long>(a.options.batch));
  if (writer) std::printf("training %s (%lld parameters) on %s: %lld train / %lld test images, batch %lld, %s lr %g, %d threads\n",
              a.options.model.c_str(), static_cast<long long>(trainer.model().parameter_count()),
              a.options.dataset.c_str(), static_cast<long long>(train.size()), static_cast<long long>(test.size()),
              static_cast<long long>(a.options.batch), a.options.optimizer.c_str(), a.options.lr,
              omp_get_max_threads());
  auto info = [&] {
    ModelInfo i = trainer.model_info();
    i.name = a.name;
    i.version = a.version;
    return i;
  };
  std::unique_ptr<ProgressBar> bar;
  training::TrainCallbacks cb;
  std::ofstream stats_file;
  std::unique_ptr<training::LayerStats> stats;
  if (writer) {
    cb.on_batch = [&](int64_t done, int64_t total, double loss) {
      if (!bar) bar = std::make_unique<ProgressBar>("epoch " + std::to_string(trainer.epochs_done() + 1), a.options.batch);
      bar->update(done, total, loss);
    };
    cb.on_step = [&](int64_t step, int64_t epoch, double loss, double lr) {
      metrics << nlohmann::json{{"type", "step"}, {"step", step}, {"epoch", epoch}, {"loss", loss}, {"lr", lr}}.dump()
              << "\n";
    };
    cb.on_epoch = [&](const training::EpochResult& r) {
      if (bar) bar->finish();
      bar.reset();
      bool best = r.test.accuracy() > trainer.best_accuracy();
      std::printf("epoch %lld: train loss %.4f, test loss %.4f, test accuracy %.2f%%, %.1f s (%.0f img/s)%s\n",
                  static_cast<long long>(r.epoch), r.train_loss, r.test.loss, 100 * r.test.accuracy(), r.seconds,
                  r.images_per_second, best ? ", best so far: saved" : "");
      metrics << nlohmann::json{{"type", "epoch"},       {"epoch", r.epoch},           {"step", trainer.step()},
                                {"train_loss", r.train_loss}, {"test_loss", r.test.loss},
                                {"test_accuracy", r.test.accuracy()}, {"seconds", r.seconds},
                                {"images_per_second", r.images_per_second}}.dump()
              << std::endl;
      if (best) save_model(a.out, trainer.model(), info());
      auto ckpt = trainer.checkpoint();
      ckpt.best_accuracy = std::max(ckpt.best_accuracy, r.test.accuracy());
      save_model(a.checkpoint, trainer.model(), info(), &ckpt);
    };
    if (a.stats_every > 0) {
      stats_file.open(a.stats, resumed ? std::ios::app : std::ios::trunc);
      if (!stats_file) throw Failure("cannot open statistics log " + a.stats);
      stats = std::make_unique<training::LayerStats>(trainer.model(), a.stats_every, trainer.step(), stats_file);
      cb.before_update = [&](int64_t step) { stats->before_update(step); };
      cb.after_update = [&](int64_t step) { stats->after_update(step); };
    }
    add_tape_inspection(a, trainer, cb);
  }
  trainer.run(cb);
  if (!writer) return;
  if (bar) bar->finish();
  if (world_size > 1)
    std::printf("gradient sums not hidden behind backward: %.2f s\n", trainer.exposed_communication_seconds());
  if (trainer.epochs_done() < a.options.epochs) {  // stopped by --max-steps: checkpoint where we are
    auto ckpt = trainer.checkpoint();
    save_model(a.checkpoint, trainer.model(), info(), &ckpt);
    std::printf("stopped after %lld steps; checkpoint %s\n", static_cast<long long>(trainer.step()), a.checkpoint.c_str());
  } else {
    std::printf("done: best test accuracy %.2f%%, model %s, checkpoint %s, metrics %s\n",
                100 * std::max(trainer.best_accuracy(), 0.0), a.out.c_str(), a.checkpoint.c_str(), a.metrics.c_str());
  }
}

void run_train(TrainArgs& a, const CLI::App& cmd) {
  if (a.distributed.empty()) return train(a, cmd, nullptr);
  if (!(a.distributed_timeout > 0)) throw Failure("--distributed-timeout must be > 0 seconds");
  std::unique_ptr<distributed::Communicator> communicator = distributed::open_mpi(a.distributed_timeout);
  try {
    train(a, cmd, communicator.get());
  } catch (const std::exception& e) {
    // The other ranks would wait for this one: end them all.
    std::fprintf(stderr, "gradcore train: rank %d of %d: %s\n", communicator->rank(), communicator->size(), e.what());
    std::fflush(stderr);
    communicator->abort(1);
  }
}

void setup(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  auto& o = args->options;
  CLI::App* cmd = app.add_subcommand("train", "Train a model on MNIST (or Fashion-MNIST)");
  cmd->add_option("--model", o.model, "Preset (seed-cnn, lenet5, mlp) or a layer spec string")->capture_default_str();
  cmd->add_option("--epochs", o.epochs, "Epochs to train")->capture_default_str();
  cmd->add_option("--batch", o.batch, "Batch size")->capture_default_str();
  cmd->add_option("--opt", o.optimizer, "sgd, nesterov, adam or adamw")->capture_default_str();
  cmd->add_option("--lr", o.lr, "Learning rate (peak rate for onecycle)")->capture_default_str();
  cmd->add_option("--momentum", o.momentum, "Momentum for sgd/nesterov")->capture_default_str();
  cmd->add_option("--weight-decay", o.weight_decay, "Weight decay (default: 0, or 0.01 for adamw)");
  cmd->add_option("--schedule", o.schedule, "constant, step, cosine or onecycle")->capture_default_str();
  cmd->add_option("--init", o.init, "Weight init: he or xavier")->capture_default_str();
  cmd->add_flag("--augment", o.augment, "Random shifts (±2 px) and rotations (±10°)");
  cmd->add_option("--seed", o.seed, "Seed for init, shuffling, augmentation and dropout")->capture_default_str();
  cmd->add_option("--dataset", o.dataset, "mnist or fashion")->capture_default_str();
  cmd->add_option("--data", args->data_dir, "Directory with the IDX files (default: data/mnist, or the Debian fashion path)");
  cmd->add_option("--train-limit", o.train_limit, "Use only the first N training images");
  cmd->add_option("--test-limit", o.test_limit, "Evaluate on the first N test images");
  cmd->add_option("--max-steps", o.max_steps, "Stop after N optimizer steps in total, saving a checkpoint");
  cmd->add_option("--log-every", o.log_every, "A JSONL step line every N steps")->capture_default_str();
  cmd->add_option("--out", args->out, "Where the best model is saved")->capture_default_str();
  cmd->add_option("--checkpoint", args->checkpoint, "Checkpoint file (default: <out>.ckpt.gcm)");
  cmd->add_option("--metrics", args->metrics, "JSONL metrics log (default: <out>.metrics.jsonl)");
  cmd->add_option("--resume", args->resume, "Continue from a checkpoint file");
  cmd->add_option("--init-from", args->init_from,
                  "Fine-tune: start from this model's weights and architecture (.gcm, or .onnx imported)");
  cmd->add_option("--name", args->name, "Model name stored in the file")->capture_default_str();
  cmd->add_option("--version", args->version, "Model version stored in the file (the server reports it)")
      ->capture_default_str();
  cmd->add_option("--device", args->device, "cpu, cuda, or cuda-emu (our CUDA kernels on the CPU emulator: slow)")
      ->check(CLI::IsMember({"cpu", "cuda", "cuda-emu"}))
      ->capture_default_str();
  cmd->add_option("--kernels", args->kernels,
                  "CUDA kernels: ours, or vendor (cuBLAS SGEMM and cuDNN convolutions; --device cuda only)")
      ->check(CLI::IsMember({"ours", "vendor"}))
      ->capture_default_str();
  cmd->add_option("--threads", args->threads, "Threads (default: all cores)");
  cmd->add_option("--distributed", args->distributed,
                  "mpi: data-parallel over the ranks of `mpirun -np N gradcore train ...` (--batch is the global "
                  "batch; rank 0 writes the files)")
      ->check(CLI::IsMember({"mpi"}));
  cmd->add_option("--bucket-kib", o.bucket_kib,
                  "--distributed: gradients are summed in buckets of this many KiB as backward produces them "
                  "(1: one per layer tensor; a huge value: one sum after backward)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--micro-batches", o.micro_batches,
                  "Gradient accumulation: each batch in N slices, one backward each (N ranks' sums, in one process)")
      ->capture_default_str();
  cmd->add_option("--distributed-timeout", args->distributed_timeout,
                  "Seconds a rank waits for the others before the job fails")
      ->capture_default_str();
  add_conv_algo_option(cmd, o.conv_algo);
  cmd->add_option("--dump-graph", args->dump_graph, "Write the first step's autograd graph as Graphviz DOT");
  cmd->add_flag("--trace-backward", args->trace_backward, "Print the first step's backward nodes with their times");
  cmd->add_option("--stats-every", args->stats_every, "Per-layer statistics every N steps (0: off)")
      ->capture_default_str();
  cmd->add_option("--stats", args->stats, "JSONL statistics log (default: <out>.stats.jsonl)");
  cmd->callback([args, cmd] { run_train(*args, *cmd); });
}

CommandRegistration registration{"train", setup};

}  // namespace
}  // namespace gc::tools
