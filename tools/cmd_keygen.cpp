// `gradcore keygen --out K`: a new Ed25519 key pair for signing models:
// K is the secret key (mode 0600), K.pub the public key to put in a
// --trusted-keys directory.
#include <cstdio>
#include <memory>
#include <string>

#include "serialize/signing.h"
#include "tools/command.h"

namespace gc::tools {
namespace {

void run_keygen(const std::string& out) {
  serialize::generate_key_pair(out);
  const auto public_key = serialize::read_public_key(out + ".pub");
  std::printf("secret key %s (keep private), public key %s.pub, key id %s\n", out.c_str(), out.c_str(),
              serialize::key_id(public_key).c_str());
}

void setup(CLI::App& app) {
  auto out = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("keygen", "Make an Ed25519 key pair for signing models (K and K.pub)");
  cmd->add_option("--out", *out, "Secret key file to write; the public key goes to <out>.pub")->required();
  cmd->callback([out] { run_keygen(*out); });
}

CommandRegistration registration{"keygen", setup};

}  // namespace
}  // namespace gc::tools
