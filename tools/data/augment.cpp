#include "tools/data/augment.h"

#include "tools/data/dataset.h"

#include <cmath>

namespace gc::data {
namespace {

float pixel_or_zero(const uint8_t* src, int64_t x, int64_t y) {
  if (x < 0 || y < 0 || x >= kImageSide || y >= kImageSide) return 0.0f;
  return src[y * kImageSide + x];
}

float bilinear(const uint8_t* src, float x, float y) {
  const float fx0 = std::floor(x), fy0 = std::floor(y);
  const float tx = x - fx0, ty = y - fy0;
  const auto x0 = static_cast<int64_t>(fx0), y0 = static_cast<int64_t>(fy0);
  const float top = (1 - tx) * pixel_or_zero(src, x0, y0) + tx * pixel_or_zero(src, x0 + 1, y0);
  const float bottom =
      (1 - tx) * pixel_or_zero(src, x0, y0 + 1) + tx * pixel_or_zero(src, x0 + 1, y0 + 1);
  return (1 - ty) * top + ty * bottom;
}

}  // namespace

void jitter_image(const uint8_t* src, const Jitter& jitter, float* dst) {
  // Inverse mapping: undo the shift, then rotate back by -angle about the
  // centre of the pixel grid, and read the source there.
  constexpr float centre = (kImageSide - 1) / 2.0f;
  const float c = std::cos(jitter.rotation_rad), s = std::sin(jitter.rotation_rad);
  for (int64_t y = 0; y < kImageSide; ++y) {
    for (int64_t x = 0; x < kImageSide; ++x) {
      const float dx = static_cast<float>(x) - centre - jitter.shift_x;
      const float dy = static_cast<float>(y) - centre - jitter.shift_y;
      const float source_x = c * dx + s * dy + centre;
      const float source_y = -s * dx + c * dy + centre;
      dst[y * kImageSide + x] = bilinear(src, source_x, source_y);
    }
  }
}

}  // namespace gc::data
