#include "serialize/signing.h"

#include <sodium.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "serialize/atomic_file.h"
#include "serialize/model_io.h"

namespace gc::serialize {
namespace {

constexpr std::string_view kSecretKeyTag = "gradcore-ed25519-secret-key";
constexpr std::string_view kPublicKeyTag = "gradcore-ed25519-public-key";
constexpr std::string_view kAlgorithm = "ed25519";

void init_sodium() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
}

std::string to_hex(std::span<const uint8_t> bytes) {
  std::string hex(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), bytes.data(), bytes.size());
  hex.pop_back();
  return hex;
}

// Exactly `out.size()` bytes from exactly twice as many hex digits.
bool from_hex(std::string_view hex, std::span<uint8_t> out) {
  if (hex.size() != out.size() * 2) return false;
  size_t written = 0;
  const char* end = nullptr;
  return sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr, &written, &end) == 0 &&
         written == out.size() && end == hex.data() + hex.size();
}

// A key file is one line: "<tag> <hex>". Returns the hex, or throws naming the file.
std::string read_key_line(const std::filesystem::path& path, std::string_view tag, size_t hex_digits) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path.string() + ": cannot open key file: " + std::strerror(errno));
  std::string line;
  std::getline(in, line);
  const std::string prefix = std::string(tag) + " ";
  if (line.rfind(prefix, 0) != 0)
    throw std::runtime_error(path.string() + ": not a " + std::string(tag) + " file (first line must start '" +
                             prefix + "')");
  std::string hex = line.substr(prefix.size());
  if (hex.size() != hex_digits)
    throw std::runtime_error(path.string() + ": key has " + std::to_string(hex.size()) + " hex digits, expected " +
                             std::to_string(hex_digits));
  return hex;
}

void write_text_file(const std::filesystem::path& path, const std::string& text, mode_t mode) {
  if (std::filesystem::exists(path)) throw std::runtime_error(path.string() + ": already exists, not overwritten");
  write_file_atomically(path, std::as_bytes(std::span(text.data(), text.size())));
  if (::chmod(path.c_str(), mode) != 0)
    throw std::runtime_error(path.string() + ": chmod failed: " + std::strerror(errno));
}

ModelFile without_signature(ModelFile file) {
  std::erase_if(file.sections, [](const Section& s) { return s.name == kSignatureSectionName; });
  return file;
}

uint32_t trailer_crc(std::span<const std::byte> bytes) {
  uint32_t crc = 0;
  std::memcpy(&crc, bytes.data() + bytes.size() - 4, 4);  // little-endian host (the format's rule 2)
  return crc;
}

// Checks the signature of a decoded file whose bytes are `bytes`; returns the signer's key id.
std::string verify_signature(const ModelFile& file, std::span<const std::byte> bytes, const TrustedKeys& trusted,
                             const std::string& source) {
  const Section* section = file.find_section(kSignatureSectionName);
  if (!section)
    throw SignatureError(source + ": unsigned model (no '" + std::string(kSignatureSectionName) +
                         "' section); a trusted key must sign it: gradcore sign --key KEY " + source);
  if (section->get_string("algorithm") != kAlgorithm)
    throw SignatureError(source + ": signature algorithm '" + section->get_string("algorithm") + "', expected '" +
                         std::string(kAlgorithm) + "'");
  if (section->metadata.size() != 3 || !section->tensors.empty())
    throw SignatureError(source + ": section 'signature' must hold exactly algorithm, key_id and signature");
  const std::string& id = section->get_string("key_id");
  const PublicKeyBytes* key = trusted.find(id);
  if (!key) throw SignatureError(source + ": signed by key " + id + ", which is not among the trusted keys");
  std::array<uint8_t, crypto_sign_BYTES> signature{};
  if (!from_hex(section->get_string("signature"), signature))
    throw SignatureError(source + ": metadata 'signature' is not " + std::to_string(2 * crypto_sign_BYTES) +
                         " hex digits");
  // Any byte outside the decoded content (padding, reserved fields) would
  // escape the signature below, so the file must be exactly its encoding.
  if (encode_model_file(file) != std::vector<std::byte>(bytes.begin(), bytes.end()))
    throw SignatureError(source + ": tampered: the bytes differ from the encoding of their own content");
  const std::vector<std::byte> message = encode_model_file(without_signature(file));
  if (crypto_sign_verify_detached(signature.data(), reinterpret_cast<const unsigned char*>(message.data()),
                                  message.size(), key->data()) != 0)
    throw SignatureError(source + ": tampered: the Ed25519 signature by key " + id + " does not match the content");
  return id;
}

}  // namespace

std::string key_id(const PublicKeyBytes& public_key) {
  std::array<uint8_t, 32> hash{};
  crypto_generichash(hash.data(), hash.size(), public_key.data(), public_key.size(), nullptr, 0);
  return to_hex(std::span(hash).first(8));
}

void generate_key_pair(const std::filesystem::path& path) {
  init_sodium();
  SigningKey key;
  crypto_sign_keypair(key.public_key.data(), key.secret.data());
  std::filesystem::path public_path = path;
  public_path += ".pub";
  if (std::filesystem::exists(public_path))
    throw std::runtime_error(public_path.string() + ": already exists, not overwritten");
  write_text_file(path, std::string(kSecretKeyTag) + " " + to_hex(key.secret) + "\n", 0600);
  write_text_file(public_path, std::string(kPublicKeyTag) + " " + to_hex(key.public_key) + "\n", 0644);
  sodium_memzero(key.secret.data(), key.secret.size());
}

SigningKey read_signing_key(const std::filesystem::path& path) {
  init_sodium();
  SigningKey key;
  if (!from_hex(read_key_line(path, kSecretKeyTag, 2 * key.secret.size()), key.secret))
    throw std::runtime_error(path.string() + ": the secret key is not hexadecimal");
  crypto_sign_ed25519_sk_to_pk(key.public_key.data(), key.secret.data());
  return key;
}

PublicKeyBytes read_public_key(const std::filesystem::path& path) {
  PublicKeyBytes key{};
  if (!from_hex(read_key_line(path, kPublicKeyTag, 2 * key.size()), key))
    throw std::runtime_error(path.string() + ": the public key is not hexadecimal");
  return key;
}

TrustedKeys TrustedKeys::from_directory(const std::filesystem::path& directory) {
  if (!std::filesystem::is_directory(directory))
    throw std::runtime_error(directory.string() + ": not a directory of trusted keys (*.pub)");
  TrustedKeys keys;
  for (const auto& entry : std::filesystem::directory_iterator(directory))
    if (entry.is_regular_file() && entry.path().extension() == ".pub") keys.add(read_public_key(entry.path()));
  if (keys.size() == 0) throw std::runtime_error(directory.string() + ": holds no trusted keys (*.pub files)");
  return keys;
}

const PublicKeyBytes* TrustedKeys::find(const std::string& id) const {
  auto it = keys_.find(id);
  return it == keys_.end() ? nullptr : &it->second;
}

std::vector<std::byte> sign_model(const ModelFile& file, const SigningKey& key) {
  init_sodium();
  ModelFile signed_file = without_signature(file);
  const std::vector<std::byte> message = encode_model_file(signed_file);
  std::array<uint8_t, crypto_sign_BYTES> signature{};
  crypto_sign_detached(signature.data(), nullptr, reinterpret_cast<const unsigned char*>(message.data()),
                       message.size(), key.secret.data());
  Section& section = signed_file.add_section(std::string(kSignatureSectionName));
  section.metadata["algorithm"] = std::string(kAlgorithm);
  section.metadata["key_id"] = key.id();
  section.metadata["signature"] = to_hex(signature);
  return encode_model_file(signed_file);
}

void sign_model_file(const std::filesystem::path& path, const SigningKey& key) {
  const std::vector<std::byte> bytes = sign_model(read_model_file(path), key);
  write_file_atomically(path, bytes);
}

std::string claimed_signer(const ModelFile& file) {
  const Section* section = file.find_section(kSignatureSectionName);
  return section && section->has("key_id") ? section->get_string("key_id") : std::string();
}

CheckedModelFile read_checked_model_file(const std::filesystem::path& path, const TrustedKeys* trusted) {
  const std::string source = path.string();
  const std::vector<std::byte> bytes = read_file_bytes(path);
  CheckedModelFile checked{parse_model_bytes(bytes, source), trailer_crc(bytes), ""};
  if (trusted) {
    init_sodium();
    checked.signer = verify_signature(checked.file, bytes, *trusted, source);
  }
  return checked;
}

}  // namespace gc::serialize
