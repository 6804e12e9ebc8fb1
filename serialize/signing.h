// Signed model files (docs/FORMAT.md, "Signature section"): Ed25519 keys from
// libsodium, a `signature` section over the whole file, and a reader that
// accepts a file only when a trusted key signed exactly these bytes.
//
// What is signed: the file as the writer encodes it without its `signature`
// section. A verifier decodes the file, checks that re-encoding it gives the
// same bytes (so no byte — padding and reserved fields included — can change
// without changing the decoded content), drops the signature section,
// re-encodes, and checks the signature over those bytes.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "serialize/model_file.h"

namespace gc::serialize {

// A file that is well-formed but not trusted: unsigned, tampered, signed by a
// key outside the trusted set. The message says which, naming the file.
struct SignatureError : FormatError {
  using FormatError::FormatError;
};

inline constexpr std::string_view kSignatureSectionName = "signature";

using PublicKeyBytes = std::array<uint8_t, 32>;

// 16 lowercase hex digits: the first 8 bytes of BLAKE2b-256 of the public key.
std::string key_id(const PublicKeyBytes& public_key);

struct SigningKey {
  std::array<uint8_t, 64> secret{};  // libsodium's form: seed followed by the public key
  PublicKeyBytes public_key{};
  std::string id() const { return key_id(public_key); }
};

// Writes a new key pair: `path` holds the secret key (mode 0600) and
// `path`.pub the public key, both one line of text. Refuses to overwrite.
void generate_key_pair(const std::filesystem::path& path);
SigningKey read_signing_key(const std::filesystem::path& path);
PublicKeyBytes read_public_key(const std::filesystem::path& path);

// The public keys a reader accepts: every `*.pub` file of a directory.
class TrustedKeys {
 public:
  static TrustedKeys from_directory(const std::filesystem::path& directory);
  void add(const PublicKeyBytes& key) { keys_[key_id(key)] = key; }
  const PublicKeyBytes* find(const std::string& id) const;
  size_t size() const { return keys_.size(); }

 private:
  std::map<std::string, PublicKeyBytes> keys_;
};

// The file's bytes with a signature section by `key` (an earlier signature is
// replaced). `file` must be the decoded form of a file (read_model_file).
std::vector<std::byte> sign_model(const ModelFile& file, const SigningKey& key);
// Signs the file at `path` in place, atomically.
void sign_model_file(const std::filesystem::path& path, const SigningKey& key);

// Who the signature section says signed the file, without checking it; empty
// for an unsigned file.
std::string claimed_signer(const ModelFile& file);

// A model file as read for use, with what an audit log needs to say about it.
struct CheckedModelFile {
  ModelFile file;
  uint32_t file_crc32c = 0;
  std::string signer;     // key id of a verified signature; empty when none was required
};

// Reads and checks `path` (format rules and checksums). With `trusted`, the
// file must also carry a valid signature by one of its keys, else
// SignatureError; without, any signature is left unchecked.
CheckedModelFile read_checked_model_file(const std::filesystem::path& path, const TrustedKeys* trusted);

}  // namespace gc::serialize
