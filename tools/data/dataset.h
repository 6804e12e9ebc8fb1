// Labelled 28×28 digit-style datasets (MNIST, Fashion-MNIST) held compactly as
// bytes; the DataLoader converts them to floats one batch at a time.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gc::data {

inline constexpr int64_t kImageSide = 28;
inline constexpr int64_t kImagePixels = kImageSide * kImageSide;
inline constexpr int32_t kNumClasses = 10;

struct Dataset {
  std::string name;             // e.g. "mnist-train"
  std::vector<uint8_t> images;  // [size(), 28, 28], row-major, ink high
  std::vector<int32_t> labels;  // [size()], each in 0..9

  int64_t size() const { return static_cast<int64_t>(labels.size()); }
  const uint8_t* image(int64_t i) const { return images.data() + i * kImagePixels; }

  // The first n examples (all of them when n >= size()), for tests and quick runs.
  Dataset head(int64_t n) const;
};

enum class Split { train, test };
enum class DatasetKind { mnist, fashion };

// "train" / "test" and "mnist" / "fashion"; anything else throws, listing the
// accepted names.
Split parse_split(std::string_view name);
DatasetKind parse_dataset_kind(std::string_view name);
std::string_view to_string(Split split);
std::string_view to_string(DatasetKind kind);

// Where each dataset lives by default: data/mnist (tools/fetch-mnist.sh puts
// it there) and /usr/share/datasets/fashion-mnist (Debian's
// dataset-fashion-mnist package).
std::string default_data_dir(DatasetKind kind);

// The names of the ten classes, for printing predictions.
const std::array<std::string_view, kNumClasses>& class_names(DatasetKind kind);

// Loads DIR/{train,t10k}-{images-idx3,labels-idx1}-ubyte, each optionally
// with a .gz suffix. Throws when a file is missing (with a hint on how to get
// it), malformed, not 28×28, when image and label counts differ, or when a
// label is outside 0..9. An empty dir means default_data_dir(kind).
Dataset load_dataset(DatasetKind kind, Split split, const std::string& dir = "");
Dataset load_mnist(const std::string& dir, Split split);

}  // namespace gc::data
