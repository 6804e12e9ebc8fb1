#include "engine/graph_dump.h"

#include <cmath>
#include <cstdio>
#include <unordered_map>

namespace gc {

GraphSnapshot snapshot_graph(const Tensor& root) {
  GraphSnapshot g;
  std::unordered_map<const void*, size_t> index;  // Node* or TensorImpl* → vertex
  auto vertex_of = [&](const Tensor& t) -> size_t {
    const void* key = t.grad_fn() ? static_cast<const void*>(t.grad_fn().get()) : t.impl_ptr().get();
    auto [it, inserted] = index.try_emplace(key, g.vertices.size());
    if (inserted) {  // only leaves are new here: topological order visits inputs first
      GraphSnapshot::Vertex v;
      v.id = "t" + std::to_string(g.vertices.size());
      v.leaf = t;
      g.vertices.push_back(std::move(v));
    }
    return it->second;
  };
  for (const std::shared_ptr<Node>& node : topological_order(root)) {
    std::vector<size_t> inputs;
    for (const Tensor& in : node->inputs)
      if (in.defined()) inputs.push_back(vertex_of(in));
    size_t self = g.vertices.size();
    index[node.get()] = self;
    g.vertices.push_back({"n" + std::to_string(node->id), node, Tensor()});
    for (size_t in : inputs) g.edges.push_back({in, self});
  }
  if (root.is_leaf()) vertex_of(root);
  return g;
}

static double l2_norm(const Tensor& t) {
  if (!t.defined()) return -1;
  double s = 0;
  for (double v : t.to_doubles()) s += v * v;
  return std::sqrt(s);
}

// DOT quoted strings: escape quotes and backslashes; "\n" is a line break.
static std::string quoted(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

static std::string norm_line(double norm) {
  if (norm < 0) return "";
  char buf[48];
  std::snprintf(buf, sizeof buf, "\\ngrad norm %.3e", norm);
  return buf;
}

std::string graph_to_dot(const GraphSnapshot& g) {
  std::string dot = "digraph tape {\n  rankdir=TB;\n  node [fontname=\"Helvetica\", fontsize=10];\n";
  for (const GraphSnapshot::Vertex& v : g.vertices) {
    if (v.node) {
      dot += "  " + v.id + " [shape=box, label=\"#" + std::to_string(v.node->id) + " " + quoted(v.node->op) +
             "\\n" + v.node->output_shape.str() + norm_line(v.node->grad_output_norm) + "\"];\n";
    } else {
      const Tensor& t = v.leaf;
      std::string name = !t.name().empty() ? t.name() : t.requires_grad() ? "leaf" : "input";
      std::string style = t.requires_grad() ? ", style=filled, fillcolor=\"#dbe9f6\"" : "";
      dot += "  " + v.id + " [shape=ellipse" + style + ", label=\"" + quoted(name) + "\\n" + t.shape().str() +
             norm_line(l2_norm(t.grad())) + "\"];\n";
    }
  }
  for (auto [from, to] : g.edges) dot += "  " + g.vertices[from].id + " -> " + g.vertices[to].id + ";\n";
  return dot + "}\n";
}

std::string describe_backward(const BackwardEvent& e) {
  std::string line = "#" + std::to_string(e.node->id) + " " + e.node->op + "  out " + e.node->output_shape.str() +
                     "  in";
  for (const Tensor& in : e.node->inputs) line += " " + (in.defined() ? in.shape().str() : std::string("-"));
  char time[32];
  std::snprintf(time, sizeof time, "  %.3f ms", e.seconds * 1e3);
  return line + time;
}

}  // namespace gc
