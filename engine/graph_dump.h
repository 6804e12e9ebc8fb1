// Looking at the tape: a DOT graph (Graphviz) of everything behind a tensor,
// and one line per node as backward runs it (--trace-backward).
//
// backward() frees each node's inputs, so a dump is two steps:
//   GraphSnapshot g = snapshot_graph(loss);   // before backward: structure
//   set_record_grad_norms(true); loss.backward();
//   std::string dot = graph_to_dot(g);        // after: gradient norms filled in
// Render with: dot -Tsvg graph.dot -o graph.svg
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/autograd.h"

namespace gc {

struct GraphSnapshot {
  struct Vertex {
    std::string id;               // DOT id: "n<node id>" for ops, "t<k>" for leaves
    std::shared_ptr<Node> node;   // ops: kept alive so the norm written by backward can be read
    Tensor leaf;                  // leaves: parameters, inputs, constants
  };
  std::vector<Vertex> vertices;                 // inputs before their users (tape order)
  std::vector<std::pair<size_t, size_t>> edges;  // (producer vertex, consumer vertex), per op input in order
};

// The graph that produced `root`; call before root.backward().
GraphSnapshot snapshot_graph(const Tensor& root);

// Ops are boxes labelled "#id op", output shape and, once a backward ran with
// set_record_grad_norms(true), "grad norm ‖∂L/∂out‖₂". Leaves are ellipses with
// their name (Tensor::set_name; "leaf" / "input" when unnamed), shape and
// gradient norm; trainable leaves are filled.
std::string graph_to_dot(const GraphSnapshot& graph);

// "#12 conv2d  out [4, 32, 26, 26]  in [4, 1, 28, 28] [32, 1, 3, 3] [32]  0.412 ms"
std::string describe_backward(const BackwardEvent& event);

}  // namespace gc
