// libFuzzer target for the ONNX importer (bytes → the .gcm model section).
// Built and run by tools/run-fuzzers.sh, which reads these lines:
// fuzz-sources: serialize/onnx_import.cpp serialize/onnx_tensors.cpp serialize/model_file.cpp
// fuzz-flags: -DONNX_NAMESPACE=onnx -DONNX_ML=1 -lonnx_proto -lprotobuf
// fuzz-corpus: tests/onnx/fuzz-corpus
//
// Any input must either import or throw FormatError; a crash, a sanitizer
// report, a hang or any other exception is a failure. An accepted input must
// give parameters whose sizes match their shapes.
#include <cstddef>
#include <cstdint>
#include <span>

#include "serialize/onnx_import.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const gc::serialize::ModelFile file =
        gc::onnx_to_model_file(std::span(reinterpret_cast<const std::byte*>(data), size), "fuzz-input");
    for (const auto& t : file.tensors)
      if (t.data.size() != static_cast<size_t>(t.element_count()) * 4) __builtin_trap();
  } catch (const gc::serialize::FormatError&) {
  }
  return 0;
}
