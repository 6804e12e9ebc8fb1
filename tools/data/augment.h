// Random-looking but seeded geometric jitter for training images: a shift of a
// few pixels and a small rotation about the image centre, resampled
// bilinearly (pixels that come from outside the image are 0, background).
#pragma once

#include <cstdint>

namespace gc::data {

struct Jitter {
  float shift_x = 0;       // pixels, positive moves the image right
  float shift_y = 0;       // pixels, positive moves the image down
  float rotation_rad = 0;  // positive turns clockwise on screen (y points down)
};

// dst[y*28 + x] = src sampled at the point that the jitter moves onto (x, y),
// as a float intensity in [0, 255]. A zero jitter copies src exactly.
void jitter_image(const uint8_t* src, const Jitter& jitter, float* dst);

}  // namespace gc::data
