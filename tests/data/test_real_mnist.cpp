// The real MNIST files, when tools/fetch-mnist.sh has put them in place
// ($GRADCORE_DATA/mnist, else <source dir>/data/mnist); skipped otherwise.
#include "tools/data/dataset.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

namespace gc::data {
namespace {

std::string mnist_dir() {
  const char* root = std::getenv("GRADCORE_DATA");
  return (std::filesystem::path(root && *root ? root : GRADCORE_SOURCE_DIR "/data") / "mnist")
      .string();
}

TEST(RealMnist, CountsAndFirstLabel) {
  const std::string dir = mnist_dir();
  if (!std::filesystem::exists(std::filesystem::path(dir) / "train-labels-idx1-ubyte") &&
      !std::filesystem::exists(std::filesystem::path(dir) / "train-labels-idx1-ubyte.gz"))
    GTEST_SKIP() << "MNIST not found in " << dir << "; run tools/fetch-mnist.sh";
  const Dataset train = load_mnist(dir, Split::train);
  const Dataset test = load_mnist(dir, Split::test);
  EXPECT_EQ(train.size(), 60000);
  EXPECT_EQ(test.size(), 10000);
  EXPECT_EQ(train.labels[0], 5);
  EXPECT_EQ(test.labels[0], 7);
  EXPECT_EQ(train.images.size(), 60000u * 784u);
}

TEST(RealFashionMnist, Counts) {
  const std::string dir = default_data_dir(DatasetKind::fashion);
  if (!std::filesystem::exists(std::filesystem::path(dir) / "t10k-labels-idx1-ubyte.gz"))
    GTEST_SKIP() << "Fashion-MNIST not found in " << dir
                 << "; apt-get install dataset-fashion-mnist";
  const Dataset test = load_dataset(DatasetKind::fashion, Split::test);
  EXPECT_EQ(test.size(), 10000);
  EXPECT_EQ(test.name, "fashion-test");
  EXPECT_EQ(test.labels[0], 9);  // the first test item is an ankle boot
}

}  // namespace
}  // namespace gc::data
