// MNIST-style preprocessing of pictures written by the test, and the batch
// inputs of `gradcore predict`.
#include "tests/data/test_files.h"
#include "tools/data/idx.h"
#include "tools/data/predict_inputs.h"
#include "tools/data/preprocess.h"

#include <gtest/gtest.h>
#include <stb_image_write.h>

#include <cmath>

namespace gc::data {
namespace {

using testing::expect_error_containing;
using testing::ScratchDir;

struct Geometry {
  int64_t ink_width = 0, ink_height = 0;  // bounding box of nonzero pixels
  double com_x = 0, com_y = 0;            // intensity-weighted centre of mass
};

Geometry measure(const Image28& img) {
  int64_t x0 = 28, y0 = 28, x1 = -1, y1 = -1;
  double mass = 0, mx = 0, my = 0;
  for (int64_t y = 0; y < 28; ++y)
    for (int64_t x = 0; x < 28; ++x) {
      const double v = img[y * 28 + x];
      if (v == 0) continue;
      x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
      mass += v, mx += v * x, my += v * y;
    }
  return {x1 - x0 + 1, y1 - y0 + 1, mx / mass, my / mass};
}

// RGB picture w×h of light paper (230, 225, 220) with a dark (30, 30, 40)
// rectangle [x0, x0+rw) × [y0, y0+rh): a "digit" off the centre.
void write_rect_png(const std::string& path, int w, int h, int x0, int y0, int rw, int rh) {
  std::vector<uint8_t> rgb(static_cast<size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const bool ink = x >= x0 && x < x0 + rw && y >= y0 && y < y0 + rh;
      uint8_t* p = &rgb[(static_cast<size_t>(y) * w + x) * 3];
      p[0] = ink ? 30 : 230, p[1] = ink ? 30 : 225, p[2] = ink ? 40 : 220;
    }
  ASSERT_NE(stbi_write_png(path.c_str(), w, h, 3, rgb.data(), w * 3), 0) << path;
}

// Centre convention (MNIST's, see preprocess.h): pixel (x, y) sits at (x, y)
// and the centre is (14, 14); whole-pixel placement gets the centre of mass
// within 0.5 px of it.
TEST(Preprocess, LightBackgroundRectangleIsInvertedScaledAndCentred) {
  ScratchDir dir;
  const std::string path = dir.file("digit.png");
  write_rect_png(path, 120, 90, 10, 15, 24, 60);  // tall: 24 wide, 60 high
  const Image28 img = preprocess_image_file(path);
  const Geometry g = measure(img);
  EXPECT_NEAR(g.ink_height, 20, 1);
  EXPECT_NEAR(g.ink_width, 8, 1);  // 24 * 20/60, aspect kept
  EXPECT_NEAR(g.com_x, kFrameCentre, 0.5);
  EXPECT_NEAR(g.com_y, kFrameCentre, 0.5);
  EXPECT_EQ(img[0], 0) << "background should be dark after inversion";
  EXPECT_EQ(img[14 * 28 + 14], 255) << "ink should be bright after inversion";
}

TEST(Preprocess, DarkBackgroundIsNotInvertedAndSmallInkIsEnlarged) {
  GrayImage image{40, 30, std::vector<uint8_t>(40 * 30, 10)};
  for (int y = 2; y < 7; ++y)
    for (int x = 30; x < 38; ++x) image.pixels[y * 40 + x] = 250;  // wide 8×5 block, corner
  const Image28 img = mnist_style(image, "mem");
  const Geometry g = measure(img);
  EXPECT_NEAR(g.ink_width, 20, 1);
  EXPECT_NEAR(g.ink_height, 12.5, 1);  // 5 * 20/8
  EXPECT_NEAR(g.com_x, kFrameCentre, 0.5);
  EXPECT_NEAR(g.com_y, kFrameCentre, 0.5);
  EXPECT_EQ(img[0], 0);
}

TEST(Preprocess, GrayWithAlphaIsCompositedOverWhite) {
  ScratchDir dir;
  const std::string path = dir.file("alpha.png");
  // Fully transparent background, opaque black ink square in the middle.
  std::vector<uint8_t> ga(50 * 50 * 2, 0);
  for (int y = 20; y < 30; ++y)
    for (int x = 20; x < 30; ++x) ga[(y * 50 + x) * 2 + 1] = 255;
  ASSERT_NE(stbi_write_png(path.c_str(), 50, 50, 2, ga.data(), 100), 0);
  const GrayImage gray = load_grayscale_image(path);
  EXPECT_EQ(gray.pixels[0], 255);
  EXPECT_EQ(gray.pixels[25 * 50 + 25], 0);
  const Geometry g = measure(preprocess_image_file(path));
  EXPECT_NEAR(g.ink_width, 20, 1);
  EXPECT_NEAR(g.ink_height, 20, 1);
}

TEST(Preprocess, BlankImageIsAnError) {
  GrayImage blank{16, 16, std::vector<uint8_t>(256, 240)};
  blank.pixels[100] = 225;  // faint smudge, below the contrast threshold
  expect_error_containing([&] { mnist_style(blank, "blank.png"); }, {"blank.png: blank image"});
}

TEST(Preprocess, NonImageFileNamesFileAndReason) {
  ScratchDir dir;
  testing::write_file(dir.file("notes.png"), {'h', 'e', 'l', 'l', 'o', '\n'});
  try {
    preprocess_image_file(dir.file("notes.png"));
    ADD_FAILURE() << "expected an exception";
  } catch (const std::exception& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(dir.file("notes.png") + ": cannot decode image: "), std::string::npos)
        << message;
    EXPECT_GT(message.size(), (dir.file("notes.png") + ": cannot decode image: ").size())
        << "stb's reason is missing: " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << "error should be one line";
  }
  expect_error_containing([&] { preprocess_image_file(dir.file("absent.png")); },
                          {"absent.png: no such image file"});
}

TEST(PredictInputs, ListsImageFilesSorted) {
  ScratchDir dir;
  for (const char* name : {"b.PNG", "a.jpg", "c.txt", "d.pgm"})
    testing::write_file(dir.file(name), {0});
  std::filesystem::create_directory(dir.file("sub.png"));
  const auto files = list_image_files(dir.path());
  EXPECT_EQ(files, (std::vector<std::string>{dir.file("a.jpg"), dir.file("b.PNG"),
                                             dir.file("d.pgm")}));
  ScratchDir empty_holder;
  std::filesystem::create_directory(empty_holder.file("empty"));
  expect_error_containing([&] { list_image_files(empty_holder.file("empty")); },
                          {"empty: no image files"});
  expect_error_containing([&] { list_image_files(dir.file("a.jpg")); }, {"not a directory"});
}

TEST(PredictInputs, LoadsIdxImageBatch) {
  ScratchDir dir;
  const auto pixels = testing::pattern_pixels(3);
  testing::write_gzip_file(dir.file("batch.gz"),
                           testing::idx_bytes(kIdxImagesMagic, {3, 28, 28}, pixels));
  const auto images = load_idx_image_batch(dir.file("batch.gz"));
  ASSERT_EQ(images.size(), 3u);
  EXPECT_TRUE(std::equal(images[2].begin(), images[2].end(), pixels.begin() + 2 * 784));
  testing::write_file(dir.file("small"),
                      testing::idx_bytes(kIdxImagesMagic, {1, 2, 2}, {1, 2, 3, 4}));
  expect_error_containing([&] { load_idx_image_batch(dir.file("small")); },
                          {"expected 28×28 images, found 2×2"});
  write_rect_png(dir.file("x.png"), 10, 10, 2, 2, 3, 3);
  EXPECT_FALSE(has_idx_images_magic(dir.file("x.png")));
}

}  // namespace
}  // namespace gc::data
