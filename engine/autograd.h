// The define-by-run tape (micrograd's design, over tensors).
//
// Each op that sees an input with requires_grad (while grad mode is on)
// records a Node on its output: the op's name, its inputs, its output shape
// and a backward function. Tensor::backward() orders the nodes topologically
// from the loss, runs each backward function once, accumulates gradients with
// += where a tensor feeds several ops, and then frees the graph.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace gc {

// Given the gradient of the node's output, returns one gradient per input
// (an undefined Tensor for inputs that need none).
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output)>;

struct Node {
  std::string op;
  std::vector<Tensor> inputs;
  Shape output_shape;
  BackwardFn backward;
  std::vector<GradHook> hooks;  // on the output's gradient (Tensor::register_hook)
  bool freed = false;           // backward already ran; inputs and closure released
  double grad_output_norm = -1; // ‖∂loss/∂output‖₂ of the last backward, when recorded (graph dumps)
  int id = 0;                   // creation order, for dumps and traces
};

// True while gradients are being recorded (the default).
bool grad_enabled();

// Disables recording for its lifetime (inference, optimizer updates).
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// True when an op with these inputs must be recorded.
bool needs_grad(const std::vector<Tensor>& inputs);

// Records `output` as produced by `op` from `inputs` when any input needs a
// gradient; otherwise does nothing. Returns output for chaining.
Tensor record(const std::string& op, const std::vector<Tensor>& inputs, Tensor output,
              BackwardFn backward);

// Observes every backward node as it runs (op, shapes, seconds): used by
// --trace-backward. Null to disable.
struct BackwardEvent {
  const Node* node;
  double seconds;
};
void set_backward_observer(std::function<void(const BackwardEvent&)> observer);

// When on, backward stores each node's gradient norm in Node::grad_output_norm
// (costs a pass over every gradient; off by default).
void set_record_grad_norms(bool on);

// Topological order of the graph that produced `root` (inputs before users).
std::vector<std::shared_ptr<Node>> topological_order(const Tensor& root);

}  // namespace gc
