// gradcore gradcheck on every preset and on a spec with the remaining layer
// kinds (tanh, avg pooling, dropout, sigmoid); a few elements per tensor keep it fast.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tests/cli_run.h"

namespace gc::test {
namespace {

void expect_all_pass(const std::string& model, int tensors) {
  CliRun r = gradcore("gradcheck --model '" + model + "' --batch 2 --max-elements 3 --seed 5");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(count_lines_with(r.output, "  PASS\n"), tensors) << r.output;
  EXPECT_EQ(count_lines_with(r.output, "FAIL"), 0) << r.output;
  EXPECT_NE(r.output.find("all " + std::to_string(tensors) + " parameter tensors PASS"), std::string::npos) << r.output;
}

TEST(GradcheckCli, SeedCnn) { expect_all_pass("seed-cnn", 10); }
TEST(GradcheckCli, Lenet5) { expect_all_pass("lenet5", 10); }
TEST(GradcheckCli, Mlp) { expect_all_pass("mlp", 4); }
TEST(GradcheckCli, OtherLayerKinds) {
  expect_all_pass("conv(1,2,3,1,1) tanh avgpool(2) conv(2,3,3,2,0) sigmoid flatten dropout(0.3) linear(108,10)", 6);
}

TEST(GradcheckCli, CudaEmulatorGradientsMatchTheCheckedDoubleOnes) {
  CliRun r = gradcore("gradcheck --model lenet5 --device cuda-emu --batch 2 --max-elements 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("cuda-emu f32 gradient vs cpu f64 gradient"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("fc1.weight       [120, 400]             48000"), std::string::npos) << r.output;
  EXPECT_EQ(count_lines_with(r.output, "  PASS\n"), 20) << r.output;
}

TEST(GradcheckCli, EveryElementOfASmallModel) {
  CliRun r = gradcore("gradcheck --model 'avgpool(4) flatten linear(49,10)' --batch 3 --max-elements 0");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("fc1.weight       [10, 49]                 490"), std::string::npos) << r.output;
}

TEST(GradcheckCli, GraphDumpAndTrace) {
  auto dot = temp_dir("gradcheck") / "mlp.dot";
  CliRun r = gradcore("gradcheck --model mlp --batch 2 --max-elements 1 --trace-backward --dump-graph " + dot.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // Backward runs from the loss to the first layer (flatten of the input needs no gradient: not on the tape).
  size_t loss = r.output.find(" softmax_cross_entropy  out []  in [2, 10]"),
         first = r.output.find(" linear  out [2, 64]  in [2, 784] [64, 784] [64]");
  ASSERT_NE(loss, std::string::npos) << r.output;
  ASSERT_NE(first, std::string::npos) << r.output;
  EXPECT_LT(loss, first);
  std::stringstream text;
  text << std::ifstream(dot).rdbuf();
  for (const char* fragment : {"digraph tape", "fc1.weight\\n[64, 784]", "input\\n[2, 784]", "softmax_cross_entropy",
                               "grad norm", "->"})
    EXPECT_NE(text.str().find(fragment), std::string::npos) << fragment << "\n" << text.str();
}

// Batch 2 is too small for auto's Winograd: direct and winograd run the
// conv layers by the two methods, and both are the gradient.
TEST(GradcheckCli, EveryConvAlgo) {
  for (const char* algo : {"direct", "winograd"}) {
    CliRun r = gradcore(std::string("gradcheck --model seed-cnn --batch 2 --max-elements 2 --conv-algo ") + algo);
    ASSERT_EQ(r.exit_code, 0) << algo << ": " << r.output;
    EXPECT_EQ(count_lines_with(r.output, "  PASS\n"), 10) << algo << ": " << r.output;
  }
}

TEST(GradcheckCli, BadInputIsOneLine) {
  for (const char* args : {"--model mlp --device gpu", "--model seed-cn", "--model mlp --batch 0",
                           "--model mlp --max-elements -1", "--model 'flatten linear(784,10)' --dump-graph /nonexistent/x.dot",
                           "--model mlp --conv-algo fast"}) {
    CliRun r = gradcore(std::string("gradcheck ") + args);
    EXPECT_EQ(r.exit_code, 1) << args << ": " << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << args << ": " << r.output;
  }
}

}  // namespace
}  // namespace gc::test
