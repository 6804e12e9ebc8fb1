#include "serialize/onnx_load.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

#include "serialize/model_file.h"
#include "serialize/onnx_import.h"

namespace gc {

serialize::ModelFile read_onnx_model_file(const std::filesystem::path& path) {
  const std::string source = path.string();
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  if (error) throw serialize::FormatError(source + ": cannot read: " + error.message());
  if (size > kMaxOnnxBytes)
    throw serialize::FormatError(source + ": " + std::to_string(size) + " bytes, more than the " +
                                 std::to_string(kMaxOnnxBytes) + " an ONNX file may have");
  std::vector<std::byte> bytes(size);
  std::ifstream in(path, std::ios::binary);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size)))
    throw serialize::FormatError(source + ": cannot read: " + std::strerror(errno));
  return onnx_to_model_file(bytes, source);
}

LoadedModel import_onnx(const std::filesystem::path& path) {
  return model_from_file(read_onnx_model_file(path), path.string());
}

bool is_onnx_path(const std::filesystem::path& path) { return path.extension() == ".onnx"; }

LoadedModel load_model_or_onnx(const std::filesystem::path& path, const serialize::TrustedKeys* trusted) {
  if (!is_onnx_path(path)) return load_model(path, trusted);
  if (trusted)
    throw serialize::SignatureError(path.string() +
                                    ": an ONNX file carries no gradcore signature; with --trusted-keys, import it "
                                    "(gradcore import) and sign the .gcm");
  return import_onnx(path);
}

}  // namespace gc
