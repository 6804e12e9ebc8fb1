// Whole models and training checkpoints in the .gcm format: the bridge
// between layers/ (Sequential, Optimizer) and the neutral ModelFile.
//
// A model file holds the architecture spec, input spec, labels and training
// provenance as metadata (docs/FORMAT.md, well-known keys) and one f32 tensor
// per parameter. A checkpoint adds sections "optimizer" (buffers and step),
// "loader" (data-loader position) and "rng" (dropout counters), which is what
// makes a run resume bit-exactly.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "layers/optimizer.h"
#include "layers/sequential.h"
#include "serialize/signing.h"

namespace gc {

struct ModelInfo {
  std::string name = "mnist";
  int64_t version = 1;
  std::vector<int64_t> input_shape = {1, 28, 28};
  double input_scale = 1.0 / 255;  // pixel → [0, 1]
  double input_mean = 0.1307, input_std = 0.3081;  // then (x − mean) / std
  std::vector<std::string> labels = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  std::string dataset = "mnist";
  int64_t epochs = 0;
  int64_t seed = 0;
  double test_accuracy = -1;  // < 0: not measured
  // Where an imported model came from (metadata origin.*); format "" for a
  // model trained by gradcore.
  struct Origin {
    std::string format;    // "onnx"
    std::string file;      // the file it was imported from
    std::string producer;  // e.g. "pytorch 1.13.1"
    int64_t opset = 0;
  } origin;
};

struct TrainingCheckpoint {
  OptimizerState optimizer;
  std::vector<uint64_t> loader_state;   // data-loader position (tools/data LoaderState words)
  std::vector<uint64_t> dropout_calls;  // one counter per dropout layer, in order
  int64_t epoch = 0;                    // epochs completed
  int64_t step = 0;                     // optimizer steps taken
  double best_accuracy = -1;
  std::string options;                  // the training options (JSON), so a resume can reuse them
};

// The well-known metadata of a model (docs/FORMAT.md) for `model` and `info`,
// so that a file with these and the parameters loads as a model.
void put_model_metadata(serialize::ModelFile& file, Sequential& model, const ModelInfo& info);

// Writes atomically (temp file, fsync, rename, fsync directory).
void save_model(const std::filesystem::path& path, Sequential& model, const ModelInfo& info,
                const TrainingCheckpoint* checkpoint = nullptr);

// Which bytes a model came from, for audit logs: the file's CRC-32C (its
// trailer) and the key id of the signature that was verified (empty when no
// trusted keys were asked for).
struct ModelOrigin {
  uint32_t file_crc32c = 0;
  std::string signer;
};

struct QuantizationInfo;  // serialize/quantized_store.h

struct LoadedModel {
  std::unique_ptr<Sequential> model;
  // Set for an int8 model (model.precision = int8); `model` then holds the
  // dequantized parameters.
  std::shared_ptr<const QuantizationInfo> quantization;
  ModelInfo info;
  std::optional<TrainingCheckpoint> checkpoint;
  ModelOrigin origin;
};

// Reads and validates: format rules and checksums (serialize/), then the
// architecture is rebuilt and every parameter must be present with the shape
// the architecture gives it, no unknown tensors, and the input spec must fit
// the network. Errors name the file and the tensor or key. With `trusted`, the
// file must also be signed by one of those keys (serialize::SignatureError).
LoadedModel load_model(const std::filesystem::path& path, const serialize::TrustedKeys* trusted = nullptr);

namespace serialize {
struct ModelFile;
}
// The same checks and result for a ModelFile already in memory (an imported
// one, serialize/onnx_import.h); `source` names it in errors.
LoadedModel model_from_file(const serialize::ModelFile& file, const std::string& source);

}  // namespace gc
