// The --trusted-keys DIR option of eval, predict and serve.
#pragma once

#include <optional>
#include <string>

#include "serialize/signing.h"

namespace gc::tools {

inline constexpr const char* kTrustedKeysHelp =
    "Load only models signed by a key in this directory (*.pub files from gradcore keygen)";

// The keys of `directory`; nullopt when the option was not given.
inline std::optional<serialize::TrustedKeys> load_trusted_keys(const std::string& directory) {
  if (directory.empty()) return std::nullopt;
  return serialize::TrustedKeys::from_directory(directory);
}

}  // namespace gc::tools
