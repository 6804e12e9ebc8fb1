#include "engine/autograd.h"

#include <chrono>
#include <cmath>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include "engine/ops.h"

namespace gc {

static thread_local bool g_grad_enabled = true;
static std::function<void(const BackwardEvent&)> g_backward_observer;
static bool g_record_grad_norms = false;

void set_record_grad_norms(bool on) { g_record_grad_norms = on; }

bool grad_enabled() { return g_grad_enabled; }

NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = previous_; }

void set_backward_observer(std::function<void(const BackwardEvent&)> observer) {
  g_backward_observer = std::move(observer);
}

bool needs_grad(const std::vector<Tensor>& inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && (t.requires_grad() || t.grad_fn())) return true;
  return false;
}

Tensor record(const std::string& op, const std::vector<Tensor>& inputs, Tensor output,
              BackwardFn backward) {
  if (!needs_grad(inputs)) return output;
  static int next_id = 0;
  auto node = std::make_shared<Node>();
  node->op = op;
  node->inputs = inputs;
  node->output_shape = output.shape();
  node->backward = std::move(backward);
  node->id = next_id++;
  output.impl().grad_fn = std::move(node);
  return output;
}

void Tensor::register_hook(GradHook hook) {
  if (grad_fn()) {
    grad_fn()->hooks.push_back(std::move(hook));
  } else {
    if (!requires_grad()) throw std::logic_error("register_hook: tensor does not require grad");
    impl().hooks.push_back(std::move(hook));
  }
}

std::vector<std::shared_ptr<Node>> topological_order(const Tensor& root) {
  std::vector<std::shared_ptr<Node>> order;
  if (!root.grad_fn()) return order;
  // Iterative depth-first search (graphs can be deep): post-order = inputs first.
  std::unordered_set<const Node*> visited;
  std::vector<std::pair<std::shared_ptr<Node>, size_t>> stack{{root.grad_fn(), 0}};
  visited.insert(root.grad_fn().get());
  while (!stack.empty()) {
    auto& [node, next_input] = stack.back();
    if (next_input < node->inputs.size()) {
      const Tensor& in = node->inputs[next_input++];
      if (in.defined() && in.grad_fn() && visited.insert(in.grad_fn().get()).second)
        stack.push_back({in.grad_fn(), 0});
    } else {
      order.push_back(node);
      stack.pop_back();
    }
  }
  return order;
}

static double l2_norm(const Tensor& t) {
  if (t.device() != Device::CPU) return l2_norm(t.to(Device::CPU));
  return dispatch_dtype(t.dtype(), [&]<typename T>() {
    const T* p = t.data<T>();
    double s = 0;
    for (int64_t i = 0; i < t.numel(); ++i) s += static_cast<double>(p[i]) * p[i];
    return std::sqrt(s);
  });
}

// Hooks may modify the gradient in place, so they get a private copy.
static Tensor run_hooks(const std::vector<GradHook>& hooks, Tensor grad) {
  if (hooks.empty()) return grad;
  grad = grad.clone();
  for (const GradHook& hook : hooks) hook(grad);
  return grad;
}

static void accumulate(Tensor& slot, const Tensor& grad) {
  slot = slot.defined() ? add(slot, grad) : grad;
}

void Tensor::backward() const {
  if (numel() != 1)
    throw std::invalid_argument("backward: the loss must have exactly one element, got shape " +
                                shape().str());
  if (!grad_fn() && !requires_grad())
    throw std::logic_error("backward: this tensor does not require grad and has no graph behind it");
  if (grad_fn() && grad_fn()->freed)
    throw std::logic_error("backward: the graph behind this tensor ('" + grad_fn()->op +
                           "') was freed by an earlier backward(); run the forward pass again");
  NoGradGuard no_grad;
  Tensor seed = Tensor::full(shape(), 1.0, dtype(), device());

  std::unordered_map<const Node*, Tensor> node_grads;  // ∂loss/∂(node output)
  std::vector<std::pair<Tensor, Tensor>> leaf_grads;   // (leaf, ∂loss/∂leaf) not yet stored
  auto add_leaf_grad = [&](const Tensor& leaf, const Tensor& g) {
    for (auto& [t, acc] : leaf_grads)
      if (t.same(leaf)) return accumulate(acc, g);
    leaf_grads.push_back({leaf, g});
  };
  // A leaf's gradient is stored (its hooks run, then += into .grad) as soon
  // as the last node that reads it has run backward, so a hook can start work
  // on it while the rest of backward runs (distributed/gradient_reducer.h).
  std::unordered_map<const TensorImpl*, int> unread;  // leaf → users not yet run
  auto store_leaf_grad = [&](const Tensor& leaf) {
    for (auto it = leaf_grads.begin(); it != leaf_grads.end(); ++it)
      if (it->first.same(leaf)) {
        Tensor grad = run_hooks(leaf.impl().hooks, it->second);
        if (leaf.impl().grad) grad = add(Tensor(leaf.impl().grad), grad);
        leaf.impl().grad = grad.impl_ptr();
        leaf_grads.erase(it);
        return;
      }
  };

  if (!grad_fn()) {
    add_leaf_grad(*this, seed);
  } else {
    auto order = topological_order(*this);
    for (const auto& node : order)
      for (const Tensor& in : node->inputs)
        if (in.defined() && !in.grad_fn() && in.requires_grad()) ++unread[&in.impl()];
    node_grads[grad_fn().get()] = seed;
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
      Node& node = **it;
      auto found = node_grads.find(&node);
      if (found == node_grads.end()) continue;
      Tensor grad_output = run_hooks(node.hooks, found->second);
      node_grads.erase(found);
      if (g_record_grad_norms) node.grad_output_norm = l2_norm(grad_output);

      auto start = std::chrono::steady_clock::now();
      std::vector<Tensor> input_grads = node.backward(grad_output);
      if (g_backward_observer)
        g_backward_observer({&node, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()});

      if (input_grads.size() != node.inputs.size())
        throw std::logic_error("backward of '" + node.op + "' returned " + std::to_string(input_grads.size()) +
                               " gradients for " + std::to_string(node.inputs.size()) + " inputs");
      for (size_t i = 0; i < input_grads.size(); ++i) {
        const Tensor& in = node.inputs[i];
        const Tensor& g = input_grads[i];
        if (!g.defined() || !in.defined()) continue;
        if (g.shape() != in.shape())
          throw std::logic_error("backward of '" + node.op + "': gradient for input " + std::to_string(i) +
                                 " has shape " + g.shape().str() + ", input has " + in.shape().str());
        if (in.grad_fn())
          accumulate(node_grads[in.grad_fn().get()], g);
        else if (in.requires_grad())
          add_leaf_grad(in, g);
      }
      for (const Tensor& in : node.inputs)
        if (in.defined() && !in.grad_fn() && in.requires_grad() && --unread[&in.impl()] == 0) store_leaf_grad(in);
    }
    // Free the graph: drop saved tensors and closures, keep op names for dumps.
    for (auto& node : order) {
      node->inputs.clear();
      node->backward = nullptr;
      node->freed = true;
    }
  }

  // Leaves read by a node that no gradient reached, and a leaf loss.
  while (!leaf_grads.empty()) {
    const Tensor leaf = leaf_grads.front().first;
    store_leaf_grad(leaf);
  }
}

}  // namespace gc
