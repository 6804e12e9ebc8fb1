// Batch inputs for `gradcore predict`: every image of an IDX images file, or
// every picture in a directory.
#pragma once

#include "tools/data/preprocess.h"

#include <string>
#include <vector>

namespace gc::data {

// All images of an IDX images file (plain or .gz), which must be 28×28; they
// are used as they are (already MNIST-style), not preprocessed again.
std::vector<Image28> load_idx_image_batch(const std::string& path);

// Whether a file name has an extension stb_image decodes (png, jpg, jpeg,
// bmp, pgm, ppm, pnm, gif, tga; any case).
bool has_image_extension(const std::string& path);

// The regular files directly inside dir with an image extension, sorted by
// path. Throws when dir is not a directory or holds no image files.
std::vector<std::string> list_image_files(const std::string& dir);

}  // namespace gc::data
