#include "tools/data/predict_inputs.h"

#include "tools/data/idx.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <stdexcept>
#include <string_view>

namespace gc::data {

std::vector<Image28> load_idx_image_batch(const std::string& path) {
  const IdxImages idx = read_idx_images(path);
  if (idx.rows != kImageSide || idx.cols != kImageSide)
    throw std::runtime_error(path + ": expected 28×28 images, found " + std::to_string(idx.rows) +
                             "×" + std::to_string(idx.cols));
  std::vector<Image28> images(idx.count);
  for (int64_t i = 0; i < idx.count; ++i)
    std::copy_n(idx.pixels.begin() + i * kImagePixels, kImagePixels, images[i].begin());
  return images;
}

bool has_image_extension(const std::string& path) {
  static constexpr std::array<std::string_view, 9> kExtensions = {
      ".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".ppm", ".pnm", ".gif", ".tga"};
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return std::find(kExtensions.begin(), kExtensions.end(), ext) != kExtensions.end();
}

std::vector<std::string> list_image_files(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    throw std::runtime_error(dir + ": not a directory");
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.is_regular_file() && has_image_extension(entry.path().string()))
      files.push_back(entry.path().string());
  }
  if (files.empty())
    throw std::runtime_error(dir +
                             ": no image files (png, jpg, jpeg, bmp, pgm, ppm, pnm, gif, tga)");
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace gc::data
