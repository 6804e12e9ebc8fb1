// gradcore gradcheck: every parameter's analytic gradient against central
// finite differences, for a whole model in double precision.
//
// The model gets He-initialised weights converted to f64, a random normal
// input batch [batch, 1, 28, 28] and random labels; the loss is softmax
// cross-entropy. Each checked element costs two forward passes (engine/gradcheck.h).
// Dropout layers stay in training mode with their mask counters reset before
// every forward, so every pass sees the same mask and their backward is checked too.
#include <chrono>
#include <cstdio>
#include <fstream>

#include "engine/autograd.h"
#include "engine/gradcheck.h"
#include "engine/graph_dump.h"
#include "engine/ops.h"
#include "kernels/cpu/rng.h"
#include "layers/layers.h"
#include "layers/spec.h"
#include "tools/command.h"

namespace gc::tools {
namespace {

// In double with h = 1e-6 the truncation error (O(h²)) and the rounding error
// of the difference quotient (~1e-16·|L|/h, more after summing over a network)
// stay below 5e-9 on the presets (measured); the tolerance leaves a 20× margin,
// while a wrong backward gives errors of the size of the gradient itself.
constexpr double kStep = 1e-6, kAtol = 1e-7, kRtol = 1e-5;

struct GradcheckArgs {
  std::string model = "seed-cnn";
  int64_t batch = 4;
  uint64_t seed = 1;
  std::string device = "cpu";
  std::string dump_graph;
  bool trace_backward = false;
  // seed-cnn in f64, batch 4: ~14 ms per forward on 2 cores, so all 93k
  // elements (2 forwards each) take ~45 min; 32 per tensor ~5 s.
  int64_t max_elements = 32;
};

// Forward and backward once more, outside the checker, to dump and trace the tape.
void inspect_tape(const std::function<Tensor()>& loss_fn, const GradcheckArgs& a) {
  Tensor loss = loss_fn();
  GraphSnapshot graph = snapshot_graph(loss);
  if (a.trace_backward) {
    std::printf("backward trace (execution order):\n");
    set_backward_observer([](const BackwardEvent& e) { std::printf("  %s\n", describe_backward(e).c_str()); });
  }
  set_record_grad_norms(!a.dump_graph.empty());
  loss.backward();
  set_backward_observer(nullptr);
  set_record_grad_norms(false);
  if (a.dump_graph.empty()) return;
  std::ofstream out(a.dump_graph);
  out << graph_to_dot(graph);
  if (!out) throw Failure("cannot write " + a.dump_graph);
  std::printf("autograd graph (%zu vertices) written to %s; render: dot -Tsvg %s -o graph.svg\n",
              graph.vertices.size(), a.dump_graph.c_str(), a.dump_graph.c_str());
}

void run_gradcheck(const GradcheckArgs& a) {
  if (a.device != "cpu")
    throw Failure("--device " + a.device + ": the model gradient check runs on cpu only until the CUDA backend "
                  "runs the layers' ops (use --device cpu)");
  if (a.batch < 1) throw Failure("--batch must be ≥ 1, got " + std::to_string(a.batch));
  if (a.max_elements < 0) throw Failure("--max-elements must be ≥ 0 (0: all), got " + std::to_string(a.max_elements));

  auto model = build_model(a.model);
  Shape out = check_model_input(*model, {1, 28, 28});
  if (out.rank() != 2) throw Failure("model '" + a.model + "' outputs " + out.str() + " per image; expected [1, classes]");
  model->reset_parameters(a.seed, "he");
  model->set_seed(a.seed);
  model->convert_parameters(DType::F64);
  model->set_training_mode(true);
  std::vector<Tensor> params;
  for (ParamRef p : model->parameters()) params.push_back(p.tensor->set_name(p.name));

  cpu::Rng rng(cpu::counter_bits(a.seed, 0x9c));
  Tensor x = Tensor::empty({a.batch, 1, 28, 28}, DType::F64);
  for (int64_t i = 0; i < x.numel(); ++i) x.data<double>()[i] = rng.normal();
  x.set_name("input");
  std::vector<int32_t> labels(static_cast<size_t>(a.batch));
  for (int32_t& l : labels) l = static_cast<int32_t>(rng.below(static_cast<uint64_t>(out[1])));

  auto loss_fn = [&] {
    for (const auto& layer : model->layers())
      if (auto* d = dynamic_cast<Dropout*>(layer.get())) d->calls = 0;
    return softmax_cross_entropy((*model)(x), labels);
  };
  if (!a.dump_graph.empty() || a.trace_backward) inspect_tape(loss_fn, a);

  std::printf("gradcheck %s: %lld parameters, batch %lld, seed %llu, f64, central differences h = %g\n",
              a.model.c_str(), static_cast<long long>(model->parameter_count()), static_cast<long long>(a.batch),
              static_cast<unsigned long long>(a.seed), kStep);
  std::printf("an element passes when |analytic - numeric| <= %g + %g * max(|analytic|, |numeric|)\n", kAtol, kRtol);
  if (a.max_elements > 0)
    std::printf("checking at most %lld evenly spread elements per tensor (--max-elements 0 checks all)\n",
                static_cast<long long>(a.max_elements));

  auto start = std::chrono::steady_clock::now();
  auto results = gradcheck(loss_fn, params, {.step = kStep, .atol = kAtol, .rtol = kRtol, .max_elements = a.max_elements});
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::printf("\n%-16s %-18s %9s %12s %12s  %s\n", "parameter", "shape", "checked", "max abs err", "max rel err",
              "result");
  int failed = 0;
  int64_t checked = 0;
  for (const GradcheckResult& r : results) {
    std::printf("%-16s %-18s %9lld %12.3e %12.3e  %s\n", r.name.c_str(), r.shape.str().c_str(),
                static_cast<long long>(r.checked), r.max_abs_error, r.max_rel_error, r.passed ? "PASS" : "FAIL");
    if (!r.passed)
      std::printf("  worst: element %lld, analytic %.10e, numeric %.10e\n", static_cast<long long>(r.worst_index),
                  r.worst_analytic, r.worst_numeric);
    failed += !r.passed;
    checked += r.checked;
  }
  std::printf("\n%lld elements checked with %lld forward passes in %.1f s\n", static_cast<long long>(checked),
              static_cast<long long>(2 * checked + 1), seconds);
  if (failed) throw Failure(std::to_string(failed) + " of " + std::to_string(results.size()) +
                            " parameter tensors failed the gradient check");
  std::printf("all %zu parameter tensors PASS\n", results.size());
}

void setup(CLI::App& app) {
  auto a = std::make_shared<GradcheckArgs>();
  CLI::App* cmd = app.add_subcommand("gradcheck", "Check every parameter gradient against finite differences (f64)");
  cmd->add_option("--model", a->model, "Preset (seed-cnn, lenet5, mlp) or a layer spec string")->capture_default_str();
  cmd->add_option("--batch", a->batch, "Random input images")->capture_default_str();
  cmd->add_option("--seed", a->seed, "Seed for weights, input and labels")->capture_default_str();
  cmd->add_option("--device", a->device, "cpu (cuda, cuda-emu: not yet)")->capture_default_str();
  cmd->add_option("--max-elements", a->max_elements, "Elements checked per tensor, evenly spread (0: all)")
      ->capture_default_str();
  cmd->add_option("--dump-graph", a->dump_graph, "Write the autograd graph as Graphviz DOT");
  cmd->add_flag("--trace-backward", a->trace_backward, "Print each backward node with its time");
  cmd->callback([a] { run_gradcheck(*a); });
}

CommandRegistration registration{"gradcheck", setup};

}  // namespace
}  // namespace gc::tools
