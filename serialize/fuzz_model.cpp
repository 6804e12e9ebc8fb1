// libFuzzer target for the model file reader. Built and run by
// tools/run-fuzzers.sh, which reads the fuzz-sources and fuzz-corpus lines:
// fuzz-sources: serialize/atomic_file.cpp serialize/crc32c.cpp serialize/decode.cpp
// fuzz-sources: serialize/encode.cpp serialize/load.cpp serialize/model_file.cpp serialize/utf8.cpp
// fuzz-corpus: tests/serialize/fixtures
//
// Any input must either parse or throw FormatError; nothing else (a crash, a
// sanitizer report, another exception) is allowed. An accepted input must
// survive a round trip: encode(parse(x)) parses back and re-encodes to the
// same bytes. The fuzz build defines FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION,
// which makes checksum mismatches non-fatal so mutated inputs reach that check.
#include <cstddef>
#include <cstdint>
#include <span>

#include "serialize/model_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gc::serialize;
  const std::span bytes(reinterpret_cast<const std::byte*>(data), size);
  try {
    const ModelFile file = parse_model_bytes(bytes, "fuzz-input");
    const std::vector<std::byte> encoded = encode_model_file(file);
    if (encode_model_file(parse_model_bytes(encoded, "re-encoded")) != encoded) __builtin_trap();
  } catch (const FormatError&) {
  }
  try {
    verify_model_bytes(bytes, "fuzz-input");
  } catch (const FormatError&) {
  }
  return 0;
}
