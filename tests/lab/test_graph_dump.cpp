// The DOT dump of small known graphs: one vertex per op and leaf, edges along
// the tape, gradient norms after backward; and the backward trace lines.
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "engine/graph_dump.h"
#include "engine/ops.h"

namespace gc {
namespace {

struct Dot {
  std::map<std::string, std::string> labels;  // vertex id → label text
  std::vector<std::pair<std::string, std::string>> edges;
  // The id of the only vertex whose label contains `fragment` (ops: " relu\\n", leaves: "w\\n[4, 3]").
  std::string find(const std::string& fragment) const {
    std::string id;
    for (const auto& [v, label] : labels)
      if (label.find(fragment) != std::string::npos) {
        EXPECT_TRUE(id.empty()) << "two vertices match '" << fragment << "'";
        id = v;
      }
    EXPECT_FALSE(id.empty()) << "no vertex matches '" << fragment << "'";
    return id;
  }
};

Dot parse(const std::string& text) {
  Dot dot;
  std::regex vertex(R"re(^\s*(\w+) \[.*label="(.*)"\];$)re"), edge(R"re(^\s*(\w+) -> (\w+);$)re");
  std::istringstream in(text);
  std::string line;
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_match(line, m, vertex)) dot.labels[m[1]] = m[2];
    else if (std::regex_match(line, m, edge)) dot.edges.push_back({m[1], m[2]});
  }
  return dot;
}

Tensor leaf(const Shape& shape, double value, const std::string& name) {
  Tensor t = Tensor::full(shape, value, DType::F64);
  t.requires_grad_().set_name(name);
  return t;
}

TEST(GraphDump, SmallGraphHasItsOpsLeavesAndEdges) {
  Tensor x = Tensor::full({2, 3}, 1.0, DType::F64);  // data: no grad, no name
  Tensor w = leaf({4, 3}, 0.5, "w");
  Tensor b = leaf({4}, -1.0, "b");
  Tensor loss = sum(relu(linear(x, w, b)));
  Dot dot = parse(graph_to_dot(snapshot_graph(loss)));

  ASSERT_EQ(dot.labels.size(), 6u) << graph_to_dot(snapshot_graph(loss));
  std::string vx = dot.find("input\\n[2, 3]"), vw = dot.find("w\\n[4, 3]"), vb = dot.find("b\\n[4]");
  std::string vlin = dot.find(" linear\\n[2, 4]"), vrelu = dot.find(" relu\\n[2, 4]"), vsum = dot.find(" sum\\n[]");
  std::set<std::pair<std::string, std::string>> edges(dot.edges.begin(), dot.edges.end());
  EXPECT_EQ(edges, (std::set<std::pair<std::string, std::string>>{
                       {vx, vlin}, {vw, vlin}, {vb, vlin}, {vlin, vrelu}, {vrelu, vsum}}));
  EXPECT_EQ(dot.edges.size(), 5u);
  EXPECT_EQ(dot.labels[vsum].find("grad norm"), std::string::npos) << "no norms before backward";
}

TEST(GraphDump, NormsAfterBackward) {
  Tensor w = leaf({2, 2}, 1.0, "w");
  Tensor loss = sum(scale(w, 3.0));
  GraphSnapshot g = snapshot_graph(loss);
  set_record_grad_norms(true);
  loss.backward();
  set_record_grad_norms(false);
  Dot dot = parse(graph_to_dot(g));
  // ∂L/∂L = 1; ∂L/∂scale = ones [2, 2] → norm 2; ∂L/∂w = 3·ones → norm 6.
  EXPECT_NE(dot.labels[dot.find(" sum\\n")].find("grad norm 1.000e+00"), std::string::npos);
  EXPECT_NE(dot.labels[dot.find(" scale\\n")].find("grad norm 2.000e+00"), std::string::npos);
  EXPECT_NE(dot.labels[dot.find("w\\n")].find("grad norm 6.000e+00"), std::string::npos);
}

TEST(GraphDump, ReusedTensorGivesOneVertexTwoEdges) {
  Tensor a = leaf({3}, 2.0, "a");
  Tensor loss = sum(mul(a, a));
  Dot dot = parse(graph_to_dot(snapshot_graph(loss)));
  EXPECT_EQ(dot.labels.size(), 3u);
  std::string va = dot.find("a\\n[3]"), vmul = dot.find(" mul\\n");
  EXPECT_EQ(std::count(dot.edges.begin(), dot.edges.end(), std::make_pair(va, vmul)), 2);
}

TEST(GraphDump, NamesAreEscaped) {
  Tensor w = leaf({1}, 1.0, "say \"hi\"\\");
  std::string text = graph_to_dot(snapshot_graph(sum(w)));
  EXPECT_NE(text.find(R"(say \"hi\"\\\n[1])"), std::string::npos) << text;
}

TEST(BackwardTrace, OneLinePerNodeInExecutionOrder) {
  Tensor w = leaf({2, 3}, 0.5, "w");
  Tensor loss = mean(tanh(w));
  std::vector<std::string> lines;
  set_backward_observer([&](const BackwardEvent& e) { lines.push_back(describe_backward(e)); });
  loss.backward();
  set_backward_observer(nullptr);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_TRUE(std::regex_match(lines[0], std::regex(R"(#\d+ mean  out \[\]  in \[2, 3\]  \d+\.\d{3} ms)"))) << lines[0];
  EXPECT_TRUE(std::regex_match(lines[1], std::regex(R"(#\d+ tanh  out \[2, 3\]  in \[2, 3\]  \d+\.\d{3} ms)"))) << lines[1];
}

}  // namespace
}  // namespace gc
