// Whole models through the .gcm format: round trip, and the architecture
// checks the loader adds on top of the format's own.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "engine/autograd.h"
#include "layers/spec.h"
#include "serialize/model_io.h"
#include "serialize/model_store.h"

namespace gc {
namespace {

std::filesystem::path temp_file(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("gradcore-store-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir / name;
}

TEST(ModelStore, RoundTripIsBitwiseAndPredictsTheSame) {
  auto model = build_model("seed-cnn");
  model->reset_parameters(3, "he");
  ModelInfo info;
  info.epochs = 2;
  info.test_accuracy = 0.99;
  auto path = temp_file("rt.gcm");
  save_model(path, *model, info);
  LoadedModel loaded = load_model(path);
  auto a = model->parameters(), b = loaded.model->parameters();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].name, b[i].name);
    EXPECT_EQ(std::memcmp(a[i].tensor->raw_data(), b[i].tensor->raw_data(), a[i].tensor->bytes()), 0) << a[i].name;
  }
  EXPECT_EQ(loaded.info.epochs, 2);
  EXPECT_DOUBLE_EQ(loaded.info.test_accuracy, 0.99);
  EXPECT_FALSE(loaded.checkpoint.has_value());
  NoGradGuard no_grad;
  Tensor x = Tensor::full({2, 1, 28, 28}, 0.5);
  EXPECT_EQ((*model)(x).to_doubles(), (*loaded.model)(x).to_doubles());
}

TEST(ModelStore, ArchitectureMismatchesAreNamed) {
  auto model = build_model("mlp");
  auto path = temp_file("bad.gcm");
  save_model(path, *model, ModelInfo{});
  serialize::ModelFile file = serialize::read_model_file(path);

  auto expect_error = [&](serialize::ModelFile f, const std::string& fragment) {
    serialize::write_model_file(path, f);
    try {
      load_model(path);
      FAIL() << "expected an error containing " << fragment;
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  auto wrong_arch = file;
  wrong_arch.metadata["model.architecture"] = std::string("flatten linear(784,32) relu linear(32,10)");
  expect_error(wrong_arch, "tensor 'fc1.weight': shape [64, 784], architecture needs [32, 784]");
  auto unknown_layer = file;
  unknown_layer.metadata["model.architecture"] = std::string("flatten wibble");
  expect_error(unknown_layer, "model.architecture");
  auto missing = file;
  missing.tensors.pop_back();
  expect_error(missing, "tensor 'fc2.bias' is missing");
  auto labels = file;
  labels.metadata["labels"] = std::vector<std::string>{"a", "b"};
  expect_error(labels, "2 labels but the network outputs [1, 10]");
  auto input = file;
  input.metadata["input.shape"] = std::vector<int64_t>{1, 20, 20};
  expect_error(input, "input.shape");
}

}  // namespace
}  // namespace gc
