// Locates the real MNIST for end-to-end tests: $GRADCORE_DATA/mnist, else
// <source>/data/mnist (tools/fetch-mnist.sh puts it there).
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

inline std::string mnist_dir() {
  const char* root = std::getenv("GRADCORE_DATA");
  return (std::filesystem::path(root ? root : GRADCORE_SOURCE_DIR "/data") / "mnist").string();
}

inline bool have_mnist() {
  return std::filesystem::exists(std::filesystem::path(mnist_dir()) / "train-images-idx3-ubyte");
}

#define REQUIRE_MNIST()                                                                                   \
  if (!have_mnist()) GTEST_SKIP() << "real MNIST not found in " << mnist_dir() << " (run tools/fetch-mnist.sh)"
