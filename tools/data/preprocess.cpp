#include "tools/data/preprocess.h"

#include <stb_image.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <stdexcept>

namespace gc::data {
namespace {

struct StbFree {
  void operator()(unsigned char* p) const { stbi_image_free(p); }
};

// Grayscale value of one decoded pixel with `channels` components (1: gray,
// 2: gray + alpha, 3: RGB, 4: RGBA); transparency is composited over white.
uint8_t to_gray(const unsigned char* p, int channels) {
  const bool has_alpha = channels == 2 || channels == 4;
  const float gray = channels >= 3 ? 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2] : p[0];
  const float alpha = has_alpha ? p[channels - 1] / 255.0f : 1.0f;
  const float composited = alpha * gray + (1.0f - alpha) * 255.0f;
  return static_cast<uint8_t>(std::clamp(std::lround(composited), 0l, 255l));
}

float border_mean(const std::vector<float>& v, int64_t w, int64_t h) {
  double sum = 0;
  int64_t count = 0;
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w; ++x) {
      if (y == 0 || y == h - 1 || x == 0 || x == w - 1) {
        sum += v[y * w + x];
        ++count;
      }
    }
  }
  return static_cast<float>(sum / count);
}

// Weights of the source pixels that output pixel i covers when n_in pixels
// shrink or grow to n_out: the interval [i, i+1) * n_in / n_out.
struct Span {
  int64_t first;
  std::vector<float> weights;  // overlap of source first+k, divided by span length
};

std::vector<Span> area_spans(int64_t n_in, int64_t n_out) {
  const double ratio = static_cast<double>(n_in) / static_cast<double>(n_out);
  std::vector<Span> spans(n_out);
  for (int64_t i = 0; i < n_out; ++i) {
    const double a = i * ratio, b = (i + 1) * ratio;
    const auto first = static_cast<int64_t>(std::floor(a));
    const auto last = std::min(n_in - 1, static_cast<int64_t>(std::ceil(b)) - 1);
    spans[i].first = first;
    for (int64_t j = first; j <= last; ++j) {
      const double overlap = std::min(b, j + 1.0) - std::max(a, static_cast<double>(j));
      spans[i].weights.push_back(static_cast<float>(std::max(0.0, overlap) / ratio));
    }
  }
  return spans;
}

// Area-averaging resize of a w×h float image to out_w×out_h, one axis at a time.
std::vector<float> area_resize(const std::vector<float>& src, int64_t w, int64_t h,
                               int64_t out_w, int64_t out_h) {
  const std::vector<Span> xs = area_spans(w, out_w), ys = area_spans(h, out_h);
  std::vector<float> rows(h * out_w, 0.0f);
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < out_w; ++x)
      for (size_t k = 0; k < xs[x].weights.size(); ++k)
        rows[y * out_w + x] += xs[x].weights[k] * src[y * w + xs[x].first + k];
  std::vector<float> out(out_h * out_w, 0.0f);
  for (int64_t y = 0; y < out_h; ++y)
    for (size_t k = 0; k < ys[y].weights.size(); ++k)
      for (int64_t x = 0; x < out_w; ++x)
        out[y * out_w + x] += ys[y].weights[k] * rows[(ys[y].first + k) * out_w + x];
  return out;
}

// Whole-pixel offset along one axis that puts centre of mass `com` (in the
// scaled image's coordinates) nearest the frame centre, keeping all `size`
// pixels inside the frame.
int64_t centring_offset(double com, int64_t size) {
  const auto offset = static_cast<int64_t>(std::lround(kFrameCentre - com));
  return std::clamp<int64_t>(offset, 0, kImageSide - size);
}

}  // namespace

GrayImage load_grayscale_image(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw std::runtime_error(path + ": no such image file");
  if (!std::filesystem::is_regular_file(path, ec))
    throw std::runtime_error(path + ": not a regular file");
  int w = 0, h = 0, channels = 0;
  if (!stbi_info(path.c_str(), &w, &h, &channels))
    throw std::runtime_error(path + ": cannot decode image: " + stbi_failure_reason());
  if (static_cast<int64_t>(w) * h > kMaxImagePixels)
    throw std::runtime_error(path + ": image is " + std::to_string(w) + "×" + std::to_string(h) +
                             " pixels, above the limit of " + std::to_string(kMaxImagePixels));
  std::unique_ptr<unsigned char, StbFree> data(stbi_load(path.c_str(), &w, &h, &channels, 0));
  if (!data) throw std::runtime_error(path + ": cannot decode image: " + stbi_failure_reason());

  GrayImage image{w, h, std::vector<uint8_t>(static_cast<size_t>(w) * h)};
  for (int64_t i = 0; i < image.width * image.height; ++i)
    image.pixels[i] = to_gray(data.get() + i * channels, channels);
  return image;
}

Image28 mnist_style(const GrayImage& image, const std::string& source) {
  const int64_t w = image.width, h = image.height;
  if (w < 1 || h < 1 || static_cast<int64_t>(image.pixels.size()) != w * h)
    throw std::invalid_argument(source + ": image has no pixels");
  std::vector<float> v(image.pixels.begin(), image.pixels.end());

  // Ink high, background low.
  if (border_mean(v, w, h) > 127.5f)
    for (float& p : v) p = 255.0f - p;
  const float background = border_mean(v, w, h);
  const float brightest = *std::max_element(v.begin(), v.end());
  if (brightest - background < kMinInkContrast)
    throw std::runtime_error(source + ": blank image (no pixel differs from the background by " +
                             std::to_string(kMinInkContrast) + " levels or more)");
  const float gain = 255.0f / (brightest - background);
  for (float& p : v) p = std::clamp((p - background) * gain, 0.0f, 255.0f);

  // Bounding box of the ink.
  int64_t x0 = w, y0 = h, x1 = -1, y1 = -1;
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w; ++x) {
      if (v[y * w + x] >= kInkThreshold) {
        x0 = std::min(x0, x), x1 = std::max(x1, x);
        y0 = std::min(y0, y), y1 = std::max(y1, y);
      }
    }
  }
  const int64_t crop_w = x1 - x0 + 1, crop_h = y1 - y0 + 1;
  std::vector<float> crop(crop_w * crop_h);
  for (int64_t y = 0; y < crop_h; ++y)
    for (int64_t x = 0; x < crop_w; ++x) crop[y * crop_w + x] = v[(y0 + y) * w + (x0 + x)];

  // Longer side to 20 px.
  const double scale = static_cast<double>(kDigitBoxSide) / std::max(crop_w, crop_h);
  const int64_t out_w = std::clamp<int64_t>(std::lround(crop_w * scale), 1, kDigitBoxSide);
  const int64_t out_h = std::clamp<int64_t>(std::lround(crop_h * scale), 1, kDigitBoxSide);
  const std::vector<float> digit = area_resize(crop, crop_w, crop_h, out_w, out_h);

  // Centre of mass into the frame centre.
  double mass = 0, mx = 0, my = 0;
  for (int64_t y = 0; y < out_h; ++y) {
    for (int64_t x = 0; x < out_w; ++x) {
      const double p = digit[y * out_w + x];
      mass += p, mx += p * x, my += p * y;
    }
  }
  const int64_t left = centring_offset(mx / mass, out_w);
  const int64_t top = centring_offset(my / mass, out_h);
  Image28 out{};
  for (int64_t y = 0; y < out_h; ++y)
    for (int64_t x = 0; x < out_w; ++x)
      out[(top + y) * kImageSide + (left + x)] =
          static_cast<uint8_t>(std::clamp(std::lround(digit[y * out_w + x]), 0l, 255l));
  return out;
}

Image28 preprocess_image_file(const std::string& path) {
  return mnist_style(load_grayscale_image(path), path);
}

}  // namespace gc::data
