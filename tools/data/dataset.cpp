#include "tools/data/dataset.h"

#include "tools/data/idx.h"

#include <algorithm>
#include <filesystem>
#include <stdexcept>

namespace gc::data {
namespace {

std::string missing_file_hint(DatasetKind kind) {
  return kind == DatasetKind::mnist ? "run tools/fetch-mnist.sh"
                                    : "install Debian's dataset-fashion-mnist package";
}

// DIR/NAME, or DIR/NAME.gz when only the compressed copy exists.
std::string find_idx_file(const std::string& dir, const std::string& name, DatasetKind kind) {
  const std::filesystem::path plain = std::filesystem::path(dir) / name;
  std::error_code ec;
  if (std::filesystem::exists(plain, ec)) return plain.string();
  std::filesystem::path gz = plain;
  gz += ".gz";
  if (std::filesystem::exists(gz, ec)) return gz.string();
  throw std::runtime_error(plain.string() + ": no such file (nor " + name + ".gz); " +
                           missing_file_hint(kind));
}

}  // namespace

Dataset Dataset::head(int64_t n) const {
  const int64_t count = std::clamp<int64_t>(n, 0, size());
  Dataset subset;
  subset.name = name + "-first" + std::to_string(count);
  subset.images.assign(images.begin(), images.begin() + count * kImagePixels);
  subset.labels.assign(labels.begin(), labels.begin() + count);
  return subset;
}

Split parse_split(std::string_view name) {
  if (name == "train") return Split::train;
  if (name == "test") return Split::test;
  throw std::invalid_argument("unknown data split '" + std::string(name) +
                              "' (expected train or test)");
}

DatasetKind parse_dataset_kind(std::string_view name) {
  if (name == "mnist") return DatasetKind::mnist;
  if (name == "fashion") return DatasetKind::fashion;
  throw std::invalid_argument("unknown dataset '" + std::string(name) +
                              "' (expected mnist or fashion)");
}

std::string_view to_string(Split split) { return split == Split::train ? "train" : "test"; }

std::string_view to_string(DatasetKind kind) {
  return kind == DatasetKind::mnist ? "mnist" : "fashion";
}

std::string default_data_dir(DatasetKind kind) {
  return kind == DatasetKind::mnist ? "data/mnist" : "/usr/share/datasets/fashion-mnist";
}

const std::array<std::string_view, kNumClasses>& class_names(DatasetKind kind) {
  static const std::array<std::string_view, kNumClasses> digits = {
      "0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  static const std::array<std::string_view, kNumClasses> fashion = {
      "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
      "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return kind == DatasetKind::mnist ? digits : fashion;
}

Dataset load_dataset(DatasetKind kind, Split split, const std::string& dir) {
  const std::string root = dir.empty() ? default_data_dir(kind) : dir;
  const std::string prefix = split == Split::train ? "train" : "t10k";
  const std::string images_path = find_idx_file(root, prefix + "-images-idx3-ubyte", kind);
  const std::string labels_path = find_idx_file(root, prefix + "-labels-idx1-ubyte", kind);

  IdxImages images = read_idx_images(images_path);
  if (images.rows != kImageSide || images.cols != kImageSide)
    throw std::runtime_error(images_path + ": expected 28×28 images, found " +
                             std::to_string(images.rows) + "×" + std::to_string(images.cols));
  const IdxLabels labels = read_idx_labels(labels_path);
  if (static_cast<int64_t>(labels.labels.size()) != images.count)
    throw std::runtime_error(images_path + " has " + std::to_string(images.count) +
                             " images but " + labels_path + " has " +
                             std::to_string(labels.labels.size()) + " labels");

  Dataset dataset;
  dataset.name = std::string(to_string(kind)) + "-" + std::string(to_string(split));
  dataset.images = std::move(images.pixels);
  dataset.labels.reserve(labels.labels.size());
  for (size_t i = 0; i < labels.labels.size(); ++i) {
    const int32_t label = labels.labels[i];
    if (label >= kNumClasses)
      throw std::runtime_error(labels_path + ": label " + std::to_string(label) + " at index " +
                               std::to_string(i) + " is outside 0..9");
    dataset.labels.push_back(label);
  }
  return dataset;
}

Dataset load_mnist(const std::string& dir, Split split) {
  return load_dataset(DatasetKind::mnist, split, dir);
}

}  // namespace gc::data
