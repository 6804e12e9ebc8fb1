// MNIST-style preprocessing of an arbitrary picture of one digit, for
// `gradcore predict`: the result looks like an MNIST test image.
//
//   1. decode (PNG, JPG, BMP, PGM/PPM, GIF, TGA via stb_image) and convert to
//      grayscale: luminance 0.299 R + 0.587 G + 0.114 B, transparent pixels
//      composited over white;
//   2. invert when the background is light: the mean of the border pixels
//      (the outermost row and column on each side) is above 127.5;
//   3. stretch the levels so the background (that border mean) becomes 0 and
//      the brightest pixel 255; an image whose brightest pixel is within
//      kMinInkContrast levels of the background is blank and rejected;
//   4. crop to the bounding box of the ink: pixels >= kInkThreshold after
//      stretching;
//   5. scale so the longer side is 20 px, keeping the aspect ratio, by area
//      averaging (each output pixel is the mean of the source area it covers);
//   6. paste into a black 28×28 frame at the whole-pixel offset that brings
//      the intensity-weighted centre of mass closest to kFrameCentre, the
//      offset clamped so no ink is cut off. Convention: pixel (x, y) sits at
//      coordinates (x, y) and the centre is (14, 14), MNIST's own: over its
//      10,000 test images the centre of mass averages (14.01, 13.99) in these
//      coordinates, not the geometric middle (13.5, 13.5).
// The output is uint8 28×28, row-major, ink high (255) on 0, like MNIST.
#pragma once

#include "tools/data/dataset.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace gc::data {

using Image28 = std::array<uint8_t, kImagePixels>;

struct GrayImage {
  int64_t width = 0;
  int64_t height = 0;
  std::vector<uint8_t> pixels;  // [height, width], row-major
};

inline constexpr int kInkThreshold = 64;
inline constexpr int kMinInkContrast = 32;
inline constexpr int64_t kDigitBoxSide = 20;
inline constexpr double kFrameCentre = 14.0;
inline constexpr int64_t kMaxImagePixels = int64_t{1} << 26;

// Decodes an image file to grayscale. Throws "PATH: cannot decode image:
// <stb's reason>" when stb_image cannot read it, and rejects images of more
// than kMaxImagePixels pixels.
GrayImage load_grayscale_image(const std::string& path);

// Steps 2–6 above; `source` names the image in the blank-image error.
Image28 mnist_style(const GrayImage& image, const std::string& source);

// load_grayscale_image followed by mnist_style.
Image28 preprocess_image_file(const std::string& path);

}  // namespace gc::data
