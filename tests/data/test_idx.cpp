// IDX reading: round trips (plain and gzip) and every kind of bad file.
#include "tests/data/test_files.h"
#include "tools/data/dataset.h"
#include "tools/data/idx.h"

#include <gtest/gtest.h>

#include <iterator>

namespace gc::data {
namespace {

using testing::expect_error_containing;
using testing::idx_bytes;
using testing::pattern_labels;
using testing::pattern_pixels;
using testing::ScratchDir;

// Writes train-images / train-labels with n images and m labels into dir.
void write_train_files(const ScratchDir& dir, uint32_t n_images, uint32_t n_labels,
                       bool gzipped) {
  const auto images = idx_bytes(kIdxImagesMagic, {n_images, 28, 28}, pattern_pixels(n_images));
  const auto labels = idx_bytes(kIdxLabelsMagic, {n_labels}, pattern_labels(n_labels));
  if (gzipped) {
    testing::write_gzip_file(dir.file("train-images-idx3-ubyte.gz"), images);
    testing::write_gzip_file(dir.file("train-labels-idx1-ubyte.gz"), labels);
  } else {
    testing::write_file(dir.file("train-images-idx3-ubyte"), images);
    testing::write_file(dir.file("train-labels-idx1-ubyte"), labels);
  }
}

TEST(Idx, ImagesRoundTripPlainAndGzip) {
  ScratchDir dir;
  const auto pixels = pattern_pixels(3);
  const auto bytes = idx_bytes(kIdxImagesMagic, {3, 28, 28}, pixels);
  testing::write_file(dir.file("plain"), bytes);
  testing::write_gzip_file(dir.file("packed.gz"), bytes);
  for (const std::string name : {"plain", "packed.gz"}) {
    const IdxImages images = read_idx_images(dir.file(name));
    EXPECT_EQ(images.count, 3) << name;
    EXPECT_EQ(images.rows, 28) << name;
    EXPECT_EQ(images.cols, 28) << name;
    EXPECT_EQ(images.pixels, pixels) << name;
    EXPECT_TRUE(has_idx_images_magic(dir.file(name))) << name;
  }
}

TEST(Idx, LabelsRoundTripAndNonSquareImages) {
  const auto labels = pattern_labels(7);
  EXPECT_EQ(parse_idx_labels(idx_bytes(kIdxLabelsMagic, {7}, labels), "mem").labels, labels);
  const std::vector<uint8_t> pixels = {1, 2, 3, 4, 5, 6};
  const IdxImages images = parse_idx_images(idx_bytes(kIdxImagesMagic, {1, 2, 3}, pixels), "mem");
  EXPECT_EQ(images.rows, 2);
  EXPECT_EQ(images.cols, 3);
  EXPECT_EQ(images.pixels, pixels);
}

TEST(Idx, TruncatedFileNamesExpectedAndFoundSize) {
  ScratchDir dir;
  auto bytes = idx_bytes(kIdxImagesMagic, {2, 28, 28}, pattern_pixels(2));
  bytes.resize(1000);
  testing::write_file(dir.file("short"), bytes);
  expect_error_containing([&] { read_idx_images(dir.file("short")); },
                          {dir.file("short"), "expected 1584 bytes", "2×28×28 images",
                           "found 1000"});
}

TEST(Idx, TrailingBytesAreAnError) {
  auto bytes = idx_bytes(kIdxLabelsMagic, {4}, pattern_labels(5));
  expect_error_containing([&] { parse_idx_labels(bytes, "labels.idx"); },
                          {"labels.idx", "expected 12 bytes", "found 13"});
}

TEST(Idx, WrongMagicSaysWhichWasFound) {
  const auto labels = idx_bytes(kIdxLabelsMagic, {3}, pattern_labels(3));
  expect_error_containing([&] { parse_idx_images(labels, "f"); },
                          {"f: not an IDX images file", "expected magic 0x00000803",
                           "found 0x00000801 (IDX labels)"});
  const std::vector<uint8_t> png_like = {0x89, 'P', 'N', 'G', 0, 0, 0, 0};
  expect_error_containing([&] { parse_idx_labels(png_like, "g"); },
                          {"g: not an IDX labels file", "found 0x89504e47"});
}

TEST(Idx, TooShortForHeader) {
  expect_error_containing([&] { parse_idx_images(std::vector<uint8_t>{0, 0}, "tiny"); },
                          {"tiny", "too short", "16-byte header"});
  const auto header_only = idx_bytes(kIdxImagesMagic, {5}, {});
  expect_error_containing([&] { parse_idx_images(header_only, "cut"); },
                          {"cut: truncated IDX header", "expected 16 bytes", "found 8"});
}

TEST(Idx, ZeroAndAbsurdDimensionsAreRejected) {
  expect_error_containing(
      [&] { parse_idx_images(idx_bytes(kIdxImagesMagic, {4, 0, 28}, {}), "zero"); },
      {"zero: dimension 1 is 0"});
  expect_error_containing(
      [&] { parse_idx_images(idx_bytes(kIdxImagesMagic, {0xffffffffu, 28, 28}, {}), "huge"); },
      {"huge: dimension 0 is 4294967295", "above the limit"});
  expect_error_containing(
      [&] { parse_idx_images(idx_bytes(kIdxImagesMagic, {100000000, 28, 28}, {}), "big"); },
      {"big: 100000000×28", "1073741824-byte limit"});
}

TEST(Idx, CorruptOrTruncatedGzip) {
  ScratchDir dir;
  testing::write_gzip_file(dir.file("full.gz"),
                           idx_bytes(kIdxImagesMagic, {50, 28, 28}, pattern_pixels(50)));
  std::ifstream in(dir.file("full.gz"), std::ios::binary);
  std::vector<uint8_t> gz((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(gz.size(), 100u);
  gz.resize(gz.size() / 2);
  testing::write_file(dir.file("half.gz"), gz);
  expect_error_containing([&] { read_idx_images(dir.file("half.gz")); },
                          {dir.file("half.gz"), "gzip"});
}

TEST(Idx, GzipSizeErrorsSayDecompressed) {
  ScratchDir dir;
  testing::write_gzip_file(dir.file("short.gz"),
                           idx_bytes(kIdxLabelsMagic, {10}, pattern_labels(9)));
  expect_error_containing([&] { read_idx_labels(dir.file("short.gz")); },
                          {"short.gz (gunzipped)", "expected 18 bytes", "found 17"});
}

TEST(Idx, DecompressedSizeIsBounded) {
  ScratchDir dir;
  testing::write_gzip_file(dir.file("zeros.gz"), std::vector<uint8_t>(3 << 20, 0));
  expect_error_containing([&] { read_maybe_gzipped_file(dir.file("zeros.gz"), 1 << 20); },
                          {"zeros.gz", "more than the 1048576-byte limit once gunzipped"});
}

TEST(Idx, MissingFile) {
  ScratchDir dir;
  expect_error_containing([&] { read_idx_images(dir.file("nope")); }, {"nope: no such file"});
}

TEST(Dataset, LoadsPlainAndGzipFiles) {
  for (const bool gzipped : {false, true}) {
    ScratchDir dir;
    write_train_files(dir, 12, 12, gzipped);
    const Dataset d = load_mnist(dir.path(), Split::train);
    EXPECT_EQ(d.name, "mnist-train");
    ASSERT_EQ(d.size(), 12);
    EXPECT_EQ(d.images, pattern_pixels(12));
    EXPECT_EQ(d.labels[11], 1);
    const Dataset first = d.head(5);
    EXPECT_EQ(first.size(), 5);
    EXPECT_EQ(first.image(4)[0], d.image(4)[0]);
    EXPECT_EQ(d.head(100).size(), 12);
  }
}

TEST(Dataset, MismatchedCountsNameBothFiles) {
  ScratchDir dir;
  write_train_files(dir, 12, 11, false);
  expect_error_containing([&] { load_mnist(dir.path(), Split::train); },
                          {"train-images-idx3-ubyte has 12 images",
                           "train-labels-idx1-ubyte has 11 labels"});
}

TEST(Dataset, RejectsOtherImageSizesAndLabelsOutsideRange) {
  ScratchDir dir;
  testing::write_file(dir.file("t10k-images-idx3-ubyte"),
                      idx_bytes(kIdxImagesMagic, {1, 32, 32}, std::vector<uint8_t>(1024)));
  testing::write_file(dir.file("t10k-labels-idx1-ubyte"), idx_bytes(kIdxLabelsMagic, {1}, {3}));
  expect_error_containing([&] { load_mnist(dir.path(), Split::test); },
                          {"expected 28×28 images, found 32×32"});

  testing::write_file(dir.file("t10k-images-idx3-ubyte"),
                      idx_bytes(kIdxImagesMagic, {2, 28, 28}, pattern_pixels(2)));
  testing::write_file(dir.file("t10k-labels-idx1-ubyte"), idx_bytes(kIdxLabelsMagic, {2}, {3, 12}));
  expect_error_containing([&] { load_mnist(dir.path(), Split::test); },
                          {"label 12 at index 1 is outside 0..9"});
}

TEST(Dataset, MissingFilesGiveAHint) {
  ScratchDir dir;
  expect_error_containing([&] { load_mnist(dir.path(), Split::test); },
                          {"t10k-images-idx3-ubyte: no such file", "tools/fetch-mnist.sh"});
  expect_error_containing([&] { load_dataset(DatasetKind::fashion, Split::test, dir.path()); },
                          {"dataset-fashion-mnist"});
}

TEST(Dataset, ParsesNames) {
  EXPECT_EQ(parse_split("test"), Split::test);
  EXPECT_EQ(parse_dataset_kind("fashion"), DatasetKind::fashion);
  expect_error_containing([] { parse_split("validation"); }, {"'validation'", "train or test"});
  expect_error_containing([] { parse_dataset_kind("cifar"); }, {"'cifar'", "mnist or fashion"});
  EXPECT_EQ(class_names(DatasetKind::fashion)[9], "Ankle boot");
}

}  // namespace
}  // namespace gc::data
