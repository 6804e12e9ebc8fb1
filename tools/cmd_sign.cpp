// `gradcore sign --key K model.gcm`: adds (or replaces) the file's signature
// section (docs/FORMAT.md, "Signature section"), rewriting it atomically.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "serialize/signing.h"
#include "tools/command.h"

namespace gc::tools {
namespace {

struct SignArgs {
  std::string key;
  std::vector<std::string> files;
};

void run_sign(const SignArgs& a) {
  const serialize::SigningKey key = serialize::read_signing_key(a.key);
  for (const std::string& file : a.files) {
    serialize::sign_model_file(file, key);
    std::printf("%s: signed by key %s\n", file.c_str(), key.id().c_str());
  }
}

void setup(CLI::App& app) {
  auto args = std::make_shared<SignArgs>();
  auto* cmd = app.add_subcommand("sign", "Sign model files with an Ed25519 secret key from gradcore keygen");
  cmd->add_option("--key", args->key, "Secret key file")->required();
  cmd->add_option("files", args->files, "Model files (.gcm) to sign in place")->required();
  cmd->callback([args] { run_sign(*args); });
}

CommandRegistration registration{"sign", setup};

}  // namespace
}  // namespace gc::tools
