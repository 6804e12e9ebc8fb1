// Example: load a model (.gcm, or .onnx imported) and classify one image with it.
// Usage: load_and_predict MODEL.gcm|MODEL.onnx IMAGE.pgm
// IMAGE is a binary PGM (P5, maxval 255, no comment lines) with the model's
// input size (28×28 for the MNIST models); white digit on black, as in MNIST.
#include <cstdint>
#include <cstdio>
#include <exception>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "infer/classifier.h"
#include "serialize/onnx_load.h"

static std::vector<uint8_t> read_pgm(const std::string& path, int64_t pixels) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::string magic;
  int64_t width = 0, height = 0, maxval = 0;
  in >> magic >> width >> height >> maxval;
  if (!in || magic != "P5" || maxval != 255) throw std::runtime_error(path + ": not a binary 8-bit PGM (P5, maxval 255)");
  if (width * height != pixels)
    throw std::runtime_error(path + ": image is " + std::to_string(width) + "x" + std::to_string(height) +
                             ", the model takes " + std::to_string(pixels) + " pixels");
  in.get();  // the one whitespace byte after maxval
  std::vector<uint8_t> image(pixels);
  if (!in.read(reinterpret_cast<char*>(image.data()), pixels)) throw std::runtime_error(path + ": truncated pixel data");
  return image;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: load_and_predict MODEL.gcm|MODEL.onnx IMAGE.pgm\n");
    return 2;
  }
  try {
    // Checks the file and rebuilds the network (an ONNX graph is imported first).
    gc::infer::Classifier classifier(gc::load_model_or_onnx(argv[1]));
    std::vector<uint8_t> image = read_pgm(argv[2], classifier.input_size());
    gc::infer::Prediction p = classifier.classify(image.data(), 1).front();
    std::printf("%s: class %s (p=%.3f)\n", argv[2], classifier.info().labels[p.label].c_str(), p.probabilities[p.label]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "load_and_predict: %s\n", e.what());
    return 1;
  }
  return 0;
}
