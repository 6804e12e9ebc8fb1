// Mini-batches over a Dataset: seeded per-epoch shuffling, normalisation and
// optional augmentation, written as float NCHW [B, 1, 28, 28] plus int32
// labels without allocating per batch.
//
// Shuffle order: epoch e visits the examples in the Fisher–Yates permutation
// drawn from a xoshiro256** stream seeded with (seed, e), so an epoch's order
// depends only on the seed and the epoch number. Augmentation draws come from
// one stream seeded once and advanced per example. Both together make the
// whole run a function of the seed, and LoaderState (a few integers) captures
// where it stands so a checkpoint resumes bit-exactly.
#pragma once

#include "tools/data/dataset.h"
#include "kernels/cpu/rng.h"

#include <array>
#include <cstdint>
#include <vector>

namespace gc::data {

inline constexpr float kMnistMean = 0.1307f;
inline constexpr float kMnistStd = 0.3081f;

enum class Normalization {
  unit_range,  // pixel / 255, in [0, 1]
  mean_std,    // (pixel / 255 - mean) / std
};

struct Augmentation {
  bool enabled = false;
  float max_shift_px = 2.0f;         // each axis uniform in [-max, max)
  float max_rotation_deg = 10.0f;    // uniform in [-max, max)
};

struct LoaderOptions {
  int64_t batch_size = 128;
  bool shuffle = true;
  bool drop_last = false;  // skip the final batch when it would be short
  uint64_t seed = 0;
  Normalization normalization = Normalization::mean_std;
  float mean = kMnistMean;
  float std = kMnistStd;
  Augmentation augmentation;
};

// Where a loader stands: restore() on a loader over the same dataset with the
// same options continues with exactly the batches the saved one would have
// produced next.
struct LoaderState {
  uint64_t seed = 0;
  int64_t dataset_size = 0;
  int64_t epoch = 0;
  int64_t position = 0;  // examples of this epoch already handed out
  std::array<uint64_t, 4> augment_rng{};  // cpu::RngState words

  static constexpr size_t kWords = 8;
  // As plain 64-bit words (in the order of the fields above), for checkpoints.
  std::array<uint64_t, kWords> to_words() const;
  static LoaderState from_words(const std::array<uint64_t, kWords>& words);
};

// A batch in the loader's own buffers, valid until the next call.
struct BatchView {
  const float* images = nullptr;   // [size, 1, 28, 28]
  const int32_t* labels = nullptr;  // [size]
  int64_t size = 0;                 // 0: the epoch has ended
};

class DataLoader {
 public:
  // Keeps a reference to dataset, which must outlive the loader. Throws on an
  // empty dataset, a batch size < 1, a std <= 0 or negative augmentation limits.
  DataLoader(const Dataset& dataset, const LoaderOptions& options);

  // The next batch of the current epoch. When the epoch is exhausted it
  // returns size 0 and moves on to the next epoch, so
  //   while (auto batch = loader.next(); batch.size > 0) { ... }
  // runs exactly one epoch.
  BatchView next();
  // The same into caller buffers holding batch_size()*784 floats and
  // batch_size() labels; returns the batch size (0 at the end of the epoch).
  int64_t next(float* images, int32_t* labels);

  int64_t batch_size() const { return options_.batch_size; }
  int64_t batches_per_epoch() const;
  int64_t epoch() const { return epoch_; }
  const Dataset& dataset() const { return dataset_; }

  LoaderState state() const;
  // Throws when the state was saved over a dataset of another size or with
  // another seed.
  void restore(const LoaderState& state);

  // Writes examples [first, first + count) in dataset order, normalised and
  // never augmented (evaluation), without touching the loader's state.
  void gather(int64_t first, int64_t count, float* images, int32_t* labels) const;

  // The normalised value of one raw pixel intensity in [0, 255].
  float normalize(float intensity) const;

 private:
  void start_epoch();
  void write_example(int64_t index, float* image, bool augment);

  const Dataset& dataset_;
  LoaderOptions options_;
  int64_t epoch_ = 0;
  int64_t position_ = 0;
  std::vector<int32_t> order_;  // this epoch's visiting order
  cpu::Rng augment_rng_;
  std::array<float, 256> normalized_{};  // normalize() of every byte value
  std::vector<float> image_buffer_;
  std::vector<int32_t> label_buffer_;
};

}  // namespace gc::data
