#include "tools/data/loader.h"

#include "tools/data/augment.h"

#include <algorithm>
#include <numbers>
#include <numeric>
#include <stdexcept>
#include <string>

namespace gc::data {
namespace {

// Seed of the shuffle stream for one epoch: both inputs pass through
// splitmix64 so nearby seeds and epochs give unrelated orders.
uint64_t epoch_shuffle_seed(uint64_t seed, int64_t epoch) {
  uint64_t state = seed;
  uint64_t mixed = cpu::splitmix64_next(state) ^ static_cast<uint64_t>(epoch);
  return cpu::splitmix64_next(mixed);
}

// The augmentation stream is seeded apart from the shuffle streams ("augment"
// in ASCII as a stream tag).
constexpr uint64_t kAugmentStreamTag = 0x006175676d656e74ull;

// Uniform in [-limit, limit).
float symmetric(cpu::Rng& rng, float limit) { return limit * (2.0f * rng.uniform_float() - 1.0f); }

}  // namespace

std::array<uint64_t, LoaderState::kWords> LoaderState::to_words() const {
  return {seed,
          static_cast<uint64_t>(dataset_size),
          static_cast<uint64_t>(epoch),
          static_cast<uint64_t>(position),
          augment_rng[0],
          augment_rng[1],
          augment_rng[2],
          augment_rng[3]};
}

LoaderState LoaderState::from_words(const std::array<uint64_t, kWords>& words) {
  LoaderState state;
  state.seed = words[0];
  state.dataset_size = static_cast<int64_t>(words[1]);
  state.epoch = static_cast<int64_t>(words[2]);
  state.position = static_cast<int64_t>(words[3]);
  state.augment_rng = {words[4], words[5], words[6], words[7]};
  return state;
}

DataLoader::DataLoader(const Dataset& dataset, const LoaderOptions& options)
    : dataset_(dataset), options_(options), augment_rng_(options.seed ^ kAugmentStreamTag) {
  if (dataset.size() == 0)
    throw std::invalid_argument("DataLoader: dataset '" + dataset.name + "' is empty");
  if (static_cast<int64_t>(dataset.images.size()) != dataset.size() * kImagePixels)
    throw std::invalid_argument("DataLoader: dataset '" + dataset.name + "' has " +
                                std::to_string(dataset.size()) + " labels but " +
                                std::to_string(dataset.images.size()) +
                                " pixels (expected 784 per label)");
  if (options.batch_size < 1)
    throw std::invalid_argument("DataLoader: batch size must be at least 1, got " +
                                std::to_string(options.batch_size));
  if (options.normalization == Normalization::mean_std && !(options.std > 0))
    throw std::invalid_argument("DataLoader: normalisation std must be positive, got " +
                                std::to_string(options.std));
  const Augmentation& aug = options.augmentation;
  if (!(aug.max_shift_px >= 0) || !(aug.max_rotation_deg >= 0))
    throw std::invalid_argument("DataLoader: augmentation limits must be >= 0, got shift " +
                                std::to_string(aug.max_shift_px) + " px, rotation " +
                                std::to_string(aug.max_rotation_deg) + " degrees");
  for (int value = 0; value < 256; ++value)
    normalized_[value] = normalize(static_cast<float>(value));
  image_buffer_.resize(options.batch_size * kImagePixels);
  label_buffer_.resize(options.batch_size);
  order_.resize(dataset.size());
  start_epoch();
}

float DataLoader::normalize(float intensity) const {
  const float unit = intensity / 255.0f;
  if (options_.normalization == Normalization::unit_range) return unit;
  return (unit - options_.mean) / options_.std;
}

int64_t DataLoader::batches_per_epoch() const {
  const int64_t n = dataset_.size(), b = options_.batch_size;
  return options_.drop_last ? n / b : (n + b - 1) / b;
}

void DataLoader::start_epoch() {
  std::iota(order_.begin(), order_.end(), 0);
  if (options_.shuffle) {
    cpu::Rng rng(epoch_shuffle_seed(options_.seed, epoch_));
    cpu::shuffle(static_cast<int64_t>(order_.size()), order_.data(), rng);
  }
}

void DataLoader::write_example(int64_t index, float* image, bool augment) {
  const uint8_t* src = dataset_.image(index);
  if (!augment) {
    for (int64_t k = 0; k < kImagePixels; ++k) image[k] = normalized_[src[k]];
    return;
  }
  const Augmentation& aug = options_.augmentation;
  Jitter jitter;
  jitter.shift_x = symmetric(augment_rng_, aug.max_shift_px);
  jitter.shift_y = symmetric(augment_rng_, aug.max_shift_px);
  jitter.rotation_rad =
      symmetric(augment_rng_, aug.max_rotation_deg) * static_cast<float>(std::numbers::pi / 180);
  jitter_image(src, jitter, image);
  for (int64_t k = 0; k < kImagePixels; ++k) image[k] = normalize(image[k]);
}

int64_t DataLoader::next(float* images, int32_t* labels) {
  const int64_t remaining = dataset_.size() - position_;
  const int64_t count = std::min(options_.batch_size, remaining);
  if (count == 0 || (options_.drop_last && count < options_.batch_size)) {
    ++epoch_;
    position_ = 0;
    start_epoch();
    return 0;
  }
  for (int64_t i = 0; i < count; ++i) {
    const int32_t index = order_[position_ + i];
    write_example(index, images + i * kImagePixels, options_.augmentation.enabled);
    labels[i] = dataset_.labels[index];
  }
  position_ += count;
  return count;
}

BatchView DataLoader::next() {
  const int64_t count = next(image_buffer_.data(), label_buffer_.data());
  return BatchView{image_buffer_.data(), label_buffer_.data(), count};
}

LoaderState DataLoader::state() const {
  return LoaderState{options_.seed, dataset_.size(), epoch_, position_, augment_rng_.state().words};
}

void DataLoader::restore(const LoaderState& state) {
  if (state.seed != options_.seed)
    throw std::invalid_argument("DataLoader::restore: state was saved with seed " +
                                std::to_string(state.seed) + ", this loader has seed " +
                                std::to_string(options_.seed));
  if (state.dataset_size != dataset_.size())
    throw std::invalid_argument("DataLoader::restore: state was saved over " +
                                std::to_string(state.dataset_size) + " examples, '" +
                                dataset_.name + "' has " + std::to_string(dataset_.size()));
  if (state.epoch < 0 || state.position < 0 || state.position > dataset_.size())
    throw std::invalid_argument("DataLoader::restore: invalid epoch " +
                                std::to_string(state.epoch) + " / position " +
                                std::to_string(state.position));
  const auto& w = state.augment_rng;
  if (w[0] == 0 && w[1] == 0 && w[2] == 0 && w[3] == 0)
    throw std::invalid_argument("DataLoader::restore: all-zero random generator state");
  epoch_ = state.epoch;
  start_epoch();
  position_ = state.position;
  augment_rng_.set_state({state.augment_rng});
}

void DataLoader::gather(int64_t first, int64_t count, float* images, int32_t* labels) const {
  if (first < 0 || count < 0 || first + count > dataset_.size())
    throw std::out_of_range("DataLoader::gather: examples [" + std::to_string(first) + ", " +
                            std::to_string(first + count) + ") are outside '" + dataset_.name +
                            "' (" + std::to_string(dataset_.size()) + " examples)");
  for (int64_t i = 0; i < count; ++i) {
    const uint8_t* src = dataset_.image(first + i);
    for (int64_t k = 0; k < kImagePixels; ++k)
      images[i * kImagePixels + k] = normalized_[src[k]];
    labels[i] = dataset_.labels[first + i];
  }
}

}  // namespace gc::data
