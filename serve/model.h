// What the server needs from a model. The server never sees the engine or the
// model file format: whoever starts it supplies a ModelLoader that turns a
// path into an InferenceModel (tools/cmd_serve.cpp for the real one,
// serve/testing/linear_model.h for the tests).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace gc::serve {

// How a uint8 pixel p becomes the model's input: (p × scale − mean) / std.
// A float32 PREDICT sends values already mapped this way (INFO reports it).
struct Normalisation {
  double scale = 1;
  double mean = 0;
  double std = 1;
  double apply(double pixel) const { return (pixel * scale - mean) / std; }
};

// An immutable, loaded model. Held by shared_ptr so a model stays alive for as
// long as anything still uses it, across reloads and roll backs.
//
// Threads: a model is built on the loader thread, which then calls forward()
// once to validate it; after that it is published and every call comes from
// one thread: the server's I/O thread, or for a shadow model (serve/shadow.h)
// the shadow's thread, each instance loaded apart. Implementations therefore
// need no locking, but forward() may itself use several threads (OpenMP, a
// CUDA stream) as long as it returns with the results written.
struct InferenceModel {
  virtual ~InferenceModel() = default;
  virtual std::string name() const = 0;
  virtual int64_t version() const = 0;
  virtual std::string architecture() const = 0;  // one line, for INFO
  virtual std::string precision() const { return "fp32"; }  // for INFO: "fp32" or "int8"
  virtual std::vector<std::string> labels() const = 0;  // one per class; its size is the class count
  virtual std::array<int, 3> input_shape() const = 0;  // channels, height, width: {1, 28, 28}

  // The preprocessing normalise() applies, the same as in training.
  virtual Normalisation normalisation() const = 0;
  // uint8 pixels (n images of input_shape) → floats, normalisation() applied.
  virtual void normalise(const uint8_t* pixels, int n, float* out) const = 0;
  // n normalised images → n × labels().size() logits. May throw; the server
  // answers the batch with INTERNAL and keeps running. A request whose
  // logits are not all finite is answered INTERNAL too, never OK.
  virtual void forward(const float* images, int n, float* logits) const = 0;

  // Where the model's bytes came from, for the audit log: a checksum of the
  // file ("crc32c:0x…") and the key id of its verified signature. Empty when
  // unknown or unsigned.
  virtual std::string file_checksum() const { return {}; }
  virtual std::string signer() const { return {}; }
};

// What a loader throws for a file that is readable but not allowed: unsigned,
// tampered, or signed by an untrusted key. Counted apart from other failures.
struct ModelRefused : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Loads and checks a model file; throws std::exception with a one-line reason
// for a missing, corrupt or incompatible file. Called on the loader thread.
using ModelLoader = std::function<std::shared_ptr<const InferenceModel>(const std::string& path)>;

// Turns a grayscale picture of one digit (`width` × `height` bytes) into one
// model input image of uint8 pixels, as the training data was prepared
// (tools/data/preprocess.h for the real server). Throws std::exception with
// the reason for a picture it cannot use (a blank one). Called on the I/O
// thread, for HTTP infer requests that ask for it (docs/HTTP.md).
using ImagePreprocessor = std::function<std::vector<uint8_t>(const uint8_t* gray, int width, int height)>;

}  // namespace gc::serve
