// gradcore gradcheck: every parameter's analytic gradient against central
// finite differences, for a whole model, in double precision on the CPU.
//
// The model gets He-initialised weights converted to f64, a random normal
// input batch [batch, 1, 28, 28] and random labels; the loss is softmax
// cross-entropy. Each checked element costs two forward passes (engine/gradcheck.h).
// Dropout layers stay in training mode with their mask counters reset before
// every forward, so every pass sees the same mask and their backward is checked too.
//
// --device cuda-emu: the CUDA kernels are f32 only, and float finite
// differences of a whole CNN are not a usable reference (measured on seed-cnn:
// rounding and ReLU/max-pool kinks crossed by the step give errors up to 3e-2
// for h from 1e-3 to 1e-2). So the same model, input and labels also run on
// the device, and its f32 gradient of every parameter element is compared with
// the f64 CPU gradient that the finite differences verified.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <optional>

#include "engine/autograd.h"
#include "engine/gradcheck.h"
#include "engine/graph_dump.h"
#include "engine/ops.h"
#include "kernels/cpu/conv2d.h"
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
constexpr GradcheckOptions kDouble{.step = 1e-6, .atol = 1e-7, .rtol = 1e-5};
// Device f32 gradient against the CPU f64 one: float rounding through a few
// layers (measured on the presets, batch 2: at most 3.1e-6 absolute).
constexpr double kDeviceAtol = 1e-5, kDeviceRtol = 1e-3;

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
  std::string conv_algo = "auto";
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

// A model with its random batch, on one device and dtype; loss() reruns the forward.
struct Problem {
  std::unique_ptr<Sequential> model;
  Tensor x;
  std::vector<int32_t> labels;

  Tensor loss() {
    for (const auto& layer : model->layers())
      if (auto* d = dynamic_cast<Dropout*>(layer.get())) d->calls = 0;
    return softmax_cross_entropy((*model)(x), labels);
  }
  std::vector<Tensor> params() {
    std::vector<Tensor> all;
    for (ParamRef p : model->parameters()) all.push_back(*p.tensor);
    return all;
  }
};

Problem make_problem(const GradcheckArgs& a, DType dtype, Device device) {
  Problem p{build_model(a.model), Tensor(), {}};
  Shape out = check_model_input(*p.model, {1, 28, 28});
  if (out.rank() != 2) throw Failure("model '" + a.model + "' outputs " + out.str() + " per image; expected [1, classes]");
  p.model->reset_parameters(a.seed, "he");
  p.model->set_seed(a.seed);
  p.model->convert_parameters(dtype);
  p.model->move_parameters(device);
  p.model->set_training_mode(true);
  for (ParamRef r : p.model->parameters()) r.tensor->set_name(r.name);

  cpu::Rng rng(cpu::counter_bits(a.seed, 0x9c));
  Tensor host = Tensor::empty({a.batch, 1, 28, 28}, DType::F64);
  for (int64_t i = 0; i < host.numel(); ++i) host.data<double>()[i] = rng.normal();
  p.x = host.to(dtype).to(device);
  p.x.set_name("input");
  p.labels.resize(static_cast<size_t>(a.batch));
  for (int32_t& l : p.labels) l = static_cast<int32_t>(rng.below(static_cast<uint64_t>(out[1])));
  return p;
}

// Every element of the device gradients against the reference's (already in .grad).
int compare_device(Problem& device, Problem& reference) {
  device.loss().backward();
  std::printf("\n%s f32 gradient vs cpu f64 gradient, every element; passes when |device - cpu| <= %g + %g * "
              "max(|device|, |cpu|)\n", device_name(device.x.device()), kDeviceAtol, kDeviceRtol);
  std::printf("%-16s %-18s %9s %12s %12s  %s\n", "parameter", "shape", "checked", "max abs err", "max rel err", "result");
  int failed = 0;
  auto dev = device.params(), ref = reference.params();
  for (size_t i = 0; i < dev.size(); ++i) {
    std::vector<double> d = dev[i].grad().to_doubles(), c = ref[i].grad().to_doubles();
    double max_abs = 0, max_rel = 0;
    bool passed = true;
    for (size_t k = 0; k < d.size(); ++k) {
      double err = std::fabs(d[k] - c[k]), scale = std::max(std::fabs(d[k]), std::fabs(c[k]));
      passed &= err <= kDeviceAtol + kDeviceRtol * scale;  // false for NaN
      max_abs = std::isnan(err) ? err : std::max(max_abs, err);
      if (scale > 0) max_rel = std::max(max_rel, err / scale);
    }
    std::printf("%-16s %-18s %9zu %12.3e %12.3e  %s\n", dev[i].name().c_str(), dev[i].shape().str().c_str(), d.size(),
                max_abs, max_rel, passed ? "PASS" : "FAIL");
    failed += !passed;
  }
  return failed;
}

void run_gradcheck(const GradcheckArgs& a) {
  const Device device = parse_device(a.device);
  cpu::set_conv_algo(cpu::parse_conv_algo(a.conv_algo));
  if (a.batch < 1) throw Failure("--batch must be ≥ 1, got " + std::to_string(a.batch));
  if (a.max_elements < 0) throw Failure("--max-elements must be ≥ 0 (0: all), got " + std::to_string(a.max_elements));
  Problem cpu = make_problem(a, DType::F64, Device::CPU);
  std::optional<Problem> on_device;
  if (device != Device::CPU) on_device = make_problem(a, DType::F32, device);
  Problem& inspected = on_device ? *on_device : cpu;
  if (!a.dump_graph.empty() || a.trace_backward) inspect_tape([&] { return inspected.loss(); }, a);

  GradcheckOptions options = kDouble;
  options.max_elements = a.max_elements;
  std::printf("gradcheck %s: %lld parameters, batch %lld, seed %llu, f64 on cpu, central differences h = %g\n",
              a.model.c_str(), static_cast<long long>(cpu.model->parameter_count()), static_cast<long long>(a.batch),
              static_cast<unsigned long long>(a.seed), options.step);
  std::printf("an element passes when |analytic - numeric| <= %g + %g * max(|analytic|, |numeric|)\n", options.atol,
              options.rtol);
  if (a.max_elements > 0)
    std::printf("checking at most %lld evenly spread elements per tensor (--max-elements 0 checks all)\n",
                static_cast<long long>(a.max_elements));

  auto start = std::chrono::steady_clock::now();
  auto results = gradcheck([&] { return cpu.loss(); }, cpu.params(), options);
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
  if (on_device) failed += compare_device(*on_device, cpu);
  if (failed) throw Failure(std::to_string(failed) + " parameter tensor checks failed");
  std::printf("all %zu parameter tensors PASS\n", results.size());
}

void setup(CLI::App& app) {
  auto a = std::make_shared<GradcheckArgs>();
  CLI::App* cmd = app.add_subcommand("gradcheck", "Check every parameter gradient against finite differences");
  cmd->add_option("--model", a->model, "Preset (seed-cnn, lenet5, mlp) or a layer spec string")->capture_default_str();
  cmd->add_option("--batch", a->batch, "Random input images")->capture_default_str();
  cmd->add_option("--seed", a->seed, "Seed for weights, input and labels")->capture_default_str();
  cmd->add_option("--device", a->device, "cpu, or cuda / cuda-emu: also compare the device's f32 gradients with the f64 ones")->capture_default_str();
  cmd->add_option("--max-elements", a->max_elements, "Elements checked per tensor, evenly spread (0: all)")
      ->capture_default_str();
  cmd->add_option("--dump-graph", a->dump_graph, "Write the autograd graph as Graphviz DOT");
  add_conv_algo_option(cmd, a->conv_algo);
  cmd->add_flag("--trace-backward", a->trace_backward, "Print each backward node with its time");
  cmd->callback([a] { run_gradcheck(*a); });
}

CommandRegistration registration{"gradcheck", setup};

}  // namespace
}  // namespace gc::tools
