// DataLoader: shuffling coverage and determinism, resume from a saved state,
// normalisation and augmentation.
#include "tests/data/test_files.h"
#include "tools/data/augment.h"
#include "tools/data/loader.h"
#include "kernels/cpu/rng.h"

#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <cstring>
#include <numbers>
#include <numeric>
#include <set>

namespace gc::data {
namespace {

// n examples; example i has label i % 10 and every pixel equal to i % 256, so
// a batch tells which examples it holds.
Dataset numbered_dataset(int64_t n) {
  Dataset d;
  d.name = "numbered";
  d.images.resize(n * kImagePixels);
  for (int64_t i = 0; i < n; ++i)
    std::fill_n(d.images.begin() + i * kImagePixels, kImagePixels, static_cast<uint8_t>(i % 256));
  d.labels.resize(n);
  for (int64_t i = 0; i < n; ++i) d.labels[i] = static_cast<int32_t>(i % 10);
  return d;
}

LoaderOptions raw_options(int64_t batch, uint64_t seed) {
  LoaderOptions o;
  o.batch_size = batch;
  o.seed = seed;
  o.normalization = Normalization::unit_range;
  return o;
}

// The example indices of one epoch, read back from pixel values (n <= 256).
std::vector<int64_t> epoch_order(DataLoader& loader) {
  std::vector<int64_t> order;
  for (BatchView b = loader.next(); b.size > 0; b = loader.next())
    for (int64_t i = 0; i < b.size; ++i)
      order.push_back(std::lround(b.images[i * kImagePixels] * 255.0f));
  return order;
}

TEST(Rng, ShuffleIsAPermutationAndPinned) {
  cpu::Rng rng(42);
  std::vector<int> v(10);
  std::iota(v.begin(), v.end(), 0);
  cpu::shuffle(10, v.data(), rng);
  std::vector<int> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  // Pinned: saved checkpoints depend on this exact order never changing.
  EXPECT_EQ(v, (std::vector<int>{7, 3, 8, 9, 5, 6, 4, 1, 0, 2}));
}

TEST(Loader, EveryExampleOncePerEpochAndBatchSizes) {
  const Dataset d = numbered_dataset(103);
  DataLoader loader(d, raw_options(10, 7));
  EXPECT_EQ(loader.batches_per_epoch(), 11);
  std::vector<int64_t> sizes;
  std::vector<int64_t> order;
  for (BatchView b = loader.next(); b.size > 0; b = loader.next()) {
    sizes.push_back(b.size);
    for (int64_t i = 0; i < b.size; ++i) {
      const int64_t index = std::lround(b.images[i * kImagePixels] * 255.0f);
      order.push_back(index);
      EXPECT_EQ(b.labels[i], index % 10);
    }
  }
  EXPECT_EQ(sizes.size(), 11u);
  EXPECT_EQ(sizes.back(), 3);
  std::vector<int64_t> sorted = order;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> all(103);
  std::iota(all.begin(), all.end(), 0);
  EXPECT_EQ(sorted, all);
  EXPECT_NE(order, all) << "shuffle left the order unchanged";
  EXPECT_EQ(loader.epoch(), 1);
}

TEST(Loader, DropLastSkipsTheShortBatch) {
  const Dataset d = numbered_dataset(103);
  LoaderOptions o = raw_options(10, 7);
  o.drop_last = true;
  DataLoader loader(d, o);
  EXPECT_EQ(loader.batches_per_epoch(), 10);
  EXPECT_EQ(epoch_order(loader).size(), 100u);
}

TEST(Loader, ReshufflesPerEpochAndRepeatsPerSeed) {
  const Dataset d = numbered_dataset(200);
  DataLoader a(d, raw_options(32, 1)), b(d, raw_options(32, 1)), c(d, raw_options(32, 2));
  const auto a0 = epoch_order(a), a1 = epoch_order(a);
  const auto b0 = epoch_order(b), b1 = epoch_order(b);
  EXPECT_NE(a0, a1);
  EXPECT_EQ(a0, b0);
  EXPECT_EQ(a1, b1);
  EXPECT_NE(epoch_order(c), a0);
}

TEST(Loader, NoShuffleKeepsDatasetOrder) {
  const Dataset d = numbered_dataset(20);
  LoaderOptions o = raw_options(6, 3);
  o.shuffle = false;
  DataLoader loader(d, o);
  std::vector<int64_t> all(20);
  std::iota(all.begin(), all.end(), 0);
  EXPECT_EQ(epoch_order(loader), all);
}

// Saving mid-epoch and restoring into a fresh loader continues with the same
// batches bit for bit, augmentation included, across the epoch boundary.
TEST(Loader, RestoreMidEpochContinuesBitExactly) {
  const Dataset d = numbered_dataset(50);
  LoaderOptions o = raw_options(8, 99);
  o.augmentation.enabled = true;
  DataLoader original(d, o);
  for (int i = 0; i < 3; ++i) original.next();
  const auto words = original.state().to_words();

  DataLoader resumed(d, o);
  resumed.restore(LoaderState::from_words(words));
  for (int step = 0; step < 12; ++step) {  // past the end of epoch 0
    const BatchView x = original.next();
    std::vector<float> x_images(x.images, x.images + x.size * kImagePixels);
    std::vector<int32_t> x_labels(x.labels, x.labels + x.size);
    const BatchView y = resumed.next();
    ASSERT_EQ(x.size, y.size) << "step " << step;
    EXPECT_EQ(0, std::memcmp(x_images.data(), y.images, x_images.size() * sizeof(float)))
        << "step " << step;
    EXPECT_EQ(x_labels, std::vector<int32_t>(y.labels, y.labels + y.size)) << "step " << step;
  }
  EXPECT_EQ(original.epoch(), 1);
}

TEST(Loader, RestoreRejectsAnotherDatasetOrSeed) {
  const Dataset d = numbered_dataset(50);
  const LoaderState state = DataLoader(d, raw_options(8, 1)).state();
  DataLoader other_seed(d, raw_options(8, 2));
  testing::expect_error_containing([&] { other_seed.restore(state); }, {"seed 1", "seed 2"});
  const Dataset smaller = numbered_dataset(40);
  DataLoader other_data(smaller, raw_options(8, 1));
  testing::expect_error_containing([&] { other_data.restore(state); },
                                   {"50 examples", "has 40"});
}

TEST(Loader, NormalisationValues) {
  Dataset d = numbered_dataset(1);
  d.images[0] = 0, d.images[1] = 255, d.images[2] = 51;
  float out[kImagePixels];
  int32_t label = -1;

  DataLoader unit(d, raw_options(1, 0));
  unit.gather(0, 1, out, &label);
  EXPECT_EQ(out[0], 0.0f);
  EXPECT_EQ(out[1], 1.0f);
  EXPECT_NEAR(out[2], 0.2f, 1e-7);
  EXPECT_EQ(label, 0);

  LoaderOptions o = raw_options(1, 0);
  o.normalization = Normalization::mean_std;  // defaults: MNIST mean and std
  DataLoader standard(d, o);
  standard.gather(0, 1, out, &label);
  EXPECT_NEAR(out[0], -0.1307f / 0.3081f, 1e-6);  // -0.42421
  EXPECT_NEAR(out[1], (1 - 0.1307f) / 0.3081f, 1e-6);  // 2.82149
  EXPECT_NEAR(out[2], (0.2f - 0.1307f) / 0.3081f, 1e-6);
}

TEST(Loader, CallerBuffersAndGather) {
  const Dataset d = numbered_dataset(9);
  LoaderOptions o = raw_options(4, 0);
  o.shuffle = false;
  DataLoader loader(d, o);
  std::vector<float> images(4 * kImagePixels);
  std::vector<int32_t> labels(4);
  EXPECT_EQ(loader.next(images.data(), labels.data()), 4);
  EXPECT_EQ(loader.next(images.data(), labels.data()), 4);
  EXPECT_EQ(loader.next(images.data(), labels.data()), 1);
  EXPECT_EQ(labels[0], 8);
  EXPECT_EQ(loader.next(images.data(), labels.data()), 0);
  loader.gather(5, 2, images.data(), labels.data());
  EXPECT_EQ(labels[1], 6);
  testing::expect_error_containing([&] { loader.gather(8, 2, images.data(), labels.data()); },
                                   {"[8, 10)", "9 examples"});
}

TEST(Loader, RejectsBadOptions) {
  const Dataset d = numbered_dataset(4);
  testing::expect_error_containing([&] { DataLoader(d, raw_options(0, 0)); },
                                   {"batch size must be at least 1, got 0"});
  LoaderOptions o = raw_options(2, 0);
  o.normalization = Normalization::mean_std;
  o.std = 0;
  testing::expect_error_containing([&] { DataLoader(d, o); }, {"std must be positive"});
  testing::expect_error_containing([&] { DataLoader(Dataset{}, raw_options(2, 0)); },
                                   {"is empty"});
}

// A 28×28 image with a bright 4×4 block at rows 4..7, columns 6..9.
std::vector<uint8_t> block_image() {
  std::vector<uint8_t> img(kImagePixels, 0);
  for (int y = 4; y < 8; ++y)
    for (int x = 6; x < 10; ++x) img[y * kImageSide + x] = 200;
  return img;
}

TEST(Augment, ZeroJitterIsIdentity) {
  const auto img = block_image();
  float out[kImagePixels];
  jitter_image(img.data(), Jitter{}, out);
  for (int64_t k = 0; k < kImagePixels; ++k) ASSERT_EQ(out[k], img[k]) << "pixel " << k;
}

TEST(Augment, WholePixelShiftMovesTheImage) {
  const auto img = block_image();
  float out[kImagePixels];
  jitter_image(img.data(), Jitter{2, -1, 0}, out);
  for (int y = 0; y < kImageSide; ++y)
    for (int x = 0; x < kImageSide; ++x) {
      const bool inside = y >= 3 && y < 7 && x >= 8 && x < 12;
      ASSERT_EQ(out[y * kImageSide + x], inside ? 200.0f : 0.0f) << x << "," << y;
    }
}

TEST(Augment, QuarterTurnRotatesClockwise) {
  std::vector<uint8_t> img(kImagePixels, 0);
  img[13 * kImageSide + 20] = 255;  // right of the centre (13.5, 13.5)
  float out[kImagePixels];
  jitter_image(img.data(), Jitter{0, 0, static_cast<float>(std::numbers::pi / 2)}, out);
  // (20, 13) is (+6.5, -0.5) from the centre; clockwise on screen (y down)
  // takes it to (+0.5, +6.5), i.e. pixel (14, 20).
  EXPECT_NEAR(out[20 * kImageSide + 14], 255.0f, 1e-3);
}

TEST(Augment, LoaderWithZeroLimitsMatchesPlainBatches) {
  const Dataset d = numbered_dataset(30);
  LoaderOptions plain = raw_options(7, 5);
  LoaderOptions zero = plain;
  zero.augmentation = {true, 0.0f, 0.0f};
  DataLoader a(d, plain), b(d, zero);
  const BatchView x = a.next();
  const BatchView y = b.next();
  ASSERT_EQ(x.size, y.size);
  EXPECT_EQ(0, std::memcmp(x.images, y.images, x.size * kImagePixels * sizeof(float)));
}

TEST(Augment, SeededKeepsMassAndChangesImages) {
  Dataset d;
  d.name = "blocks";
  for (int i = 0; i < 8; ++i) {
    const auto img = block_image();
    d.images.insert(d.images.end(), img.begin(), img.end());
    d.labels.push_back(i);
  }
  LoaderOptions o = raw_options(8, 11);
  o.shuffle = false;
  o.augmentation.enabled = true;
  DataLoader a(d, o), b(d, o);
  const BatchView x = a.next();
  std::vector<float> first(x.images, x.images + 8 * kImagePixels);
  const BatchView y = b.next();
  ASSERT_EQ(y.size, 8);
  EXPECT_EQ(0, std::memcmp(first.data(), y.images, first.size() * sizeof(float)))
      << "same seed, different augmentation";
  std::set<std::vector<float>> distinct;
  for (int i = 0; i < 8; ++i) {
    const float* img = first.data() + i * kImagePixels;
    distinct.emplace(img, img + kImagePixels);
    // The block stays fully inside the frame under ±2 px and ±10°, so
    // bilinear resampling keeps its total intensity within 5%.
    const double mass = std::accumulate(img, img + kImagePixels, 0.0);
    EXPECT_NEAR(mass, 16 * 200 / 255.0, 0.05 * 16 * 200 / 255.0) << "image " << i;
  }
  EXPECT_EQ(distinct.size(), 8u) << "augmentation should vary from image to image";
}

}  // namespace
}  // namespace gc::data
