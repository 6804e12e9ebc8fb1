// Loading a model from either kind of file: .onnx files are imported
// (serialize/onnx_import.h), anything else is read as .gcm
// (serialize/model_store.h). What eval, predict, serve and train open.
#pragma once

#include <filesystem>

#include "serialize/model_store.h"

namespace gc {

// The model section an ONNX file imports as (serialize/onnx_import.h), not
// yet checked as a model. Throws serialize::FormatError naming the file.
serialize::ModelFile read_onnx_model_file(const std::filesystem::path& path);

// Reads and imports an ONNX file; the result passed every check load_model
// applies. Throws serialize::FormatError naming the file.
LoadedModel import_onnx(const std::filesystem::path& path);

bool is_onnx_path(const std::filesystem::path& path);

// import_onnx for a path ending in .onnx, else load_model. With `trusted`,
// only a signed .gcm loads: an ONNX file carries no gradcore signature
// (serialize::SignatureError; import it, then sign the .gcm).
LoadedModel load_model_or_onnx(const std::filesystem::path& path, const serialize::TrustedKeys* trusted = nullptr);

}  // namespace gc
