// Signed model files: a file signed by a trusted key reads; an unsigned file,
// a file signed by another key, and a file with any single byte changed are
// refused with a message saying which; key files are checked.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "byte_edits.h"
#include "sample_models.h"
#include "serialize/model_io.h"
#include "serialize/signing.h"

using namespace gc::serialize;
using namespace gc::serialize::testing;

namespace {

struct TempDir {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("gradcore-signing-" + std::to_string(::getpid()) + "-" +
                                ::testing::UnitTest::GetInstance()->current_test_info()->name());
  TempDir() {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

// A fresh key pair in `dir`: returns the secret key path; the public key is at path + ".pub".
std::filesystem::path make_key(const std::filesystem::path& dir, const std::string& name) {
  std::filesystem::path path = dir / name;
  generate_key_pair(path);
  return path;
}

// The sample checkpoint as dir/m.gcm, signed with `secret_key`.
std::filesystem::path signed_sample(const std::filesystem::path& dir, const std::filesystem::path& secret_key) {
  std::filesystem::path file = dir / "m.gcm";
  write_model_file(file, tiny_mlp_checkpoint());
  sign_model_file(file, read_signing_key(secret_key));
  return file;
}

TrustedKeys trust(const std::filesystem::path& secret_key) {
  TrustedKeys keys;
  keys.add(read_public_key(secret_key.string() + ".pub"));
  return keys;
}

void write_bytes(const std::filesystem::path& path, const std::vector<std::byte>& bytes) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

// Reads `path` with `keys`; returns the SignatureError's message, or "" when accepted.
std::string refusal(const std::filesystem::path& path, const TrustedKeys& keys) {
  try {
    read_checked_model_file(path, &keys);
    return "";
  } catch (const SignatureError& e) {
    return e.what();
  }
}

}  // namespace

TEST(Signing, SignedFileReadsWithItsKeyAndKeepsItsContent) {
  TempDir dir;
  auto key = make_key(dir.path, "k");
  auto file = signed_sample(dir.path, key);

  const TrustedKeys keys = trust(key);
  CheckedModelFile checked = read_checked_model_file(file, &keys);
  EXPECT_EQ(checked.signer, read_signing_key(key).id());
  EXPECT_EQ(checked.signer.size(), 16u);
  EXPECT_EQ(claimed_signer(checked.file), checked.signer);
  // The signature is one more section; the model is untouched.
  ModelFile original = tiny_mlp_checkpoint();
  EXPECT_EQ(checked.file.tensors.size(), original.tensors.size());
  EXPECT_EQ(checked.file.metadata, original.metadata);
  EXPECT_EQ(checked.file.sections.size(), original.sections.size() + 1);
  EXPECT_NE(checked.file_crc32c, 0u);
  // A reader that asks for no signature still reads it (older readers skip the section).
  EXPECT_NO_THROW(read_model_file(file));
}

TEST(Signing, UnsignedAndOtherKeyAreRefusedByName) {
  TempDir dir;
  auto ours = make_key(dir.path, "ours"), theirs = make_key(dir.path, "theirs");
  auto unsigned_file = dir.path / "unsigned.gcm", their_file = dir.path / "theirs.gcm";
  write_model_file(unsigned_file, tiny_mlp_checkpoint());
  write_model_file(their_file, tiny_mlp_checkpoint());
  sign_model_file(their_file, read_signing_key(theirs));

  const TrustedKeys keys = trust(ours);
  EXPECT_NE(refusal(unsigned_file, keys).find("unsigned model"), std::string::npos) << refusal(unsigned_file, keys);
  const std::string other = refusal(their_file, keys);
  EXPECT_NE(other.find("signed by key " + read_signing_key(theirs).id()), std::string::npos) << other;
  EXPECT_NE(other.find("not among the trusted keys"), std::string::npos) << other;
}

TEST(Signing, ResigningReplacesTheSignature) {
  TempDir dir;
  auto first = make_key(dir.path, "first"), second = make_key(dir.path, "second");
  auto file = signed_sample(dir.path, first);
  sign_model_file(file, read_signing_key(second));
  EXPECT_EQ(refusal(file, trust(second)), "");
  EXPECT_NE(refusal(file, trust(first)).find("not among the trusted keys"), std::string::npos);
  EXPECT_EQ(read_model_file(file).sections.size(), tiny_mlp_checkpoint().sections.size() + 1);
}

// Every byte of the file, flipped one at a time: each edit is refused, as a
// format error (checksums, structure) or as a signature error, never accepted.
// The file CRC is recomputed after the edit, as an attacker would.
TEST(Signing, AnySingleChangedByteIsRefused) {
  TempDir dir;
  auto key = make_key(dir.path, "k");
  auto file = signed_sample(dir.path, key);
  const TrustedKeys keys = trust(key);
  const std::vector<std::byte> original = read_file_bytes(file);
  auto edited = dir.path / "edited.gcm";
  int accepted = 0, signature_refusals = 0;
  for (size_t at = 0; at + 4 < original.size(); ++at) {
    std::vector<std::byte> bytes = original;
    bytes[at] ^= std::byte{0x01};
    reseal(bytes);
    write_bytes(edited, bytes);
    try {
      read_checked_model_file(edited, &keys);
      ++accepted;
      ADD_FAILURE() << "byte " << at << " changed and still accepted";
    } catch (const SignatureError&) {
      ++signature_refusals;
    } catch (const FormatError&) {
    }
  }
  EXPECT_EQ(accepted, 0);
  EXPECT_GT(signature_refusals, 0);  // tensor data and padding edits reach the signature check
}

TEST(Signing, PaddingEditIsRefusedAsTampering) {
  TempDir dir;
  auto key = make_key(dir.path, "k");
  auto file = signed_sample(dir.path, key);
  std::vector<std::byte> bytes = read_file_bytes(file);
  // The last byte before the data region is padding (tables end before data_offset).
  const auto data_offset = peek<uint64_t>(bytes, 40);
  ASSERT_EQ(bytes[data_offset - 1], std::byte{0});
  bytes[data_offset - 1] = std::byte{0x5A};
  reseal(bytes);
  write_bytes(file, bytes);
  EXPECT_NO_THROW(read_model_file(file));  // the format alone does not notice
  EXPECT_NE(refusal(file, trust(key)).find("tampered"), std::string::npos) << refusal(file, trust(key));
}

TEST(Signing, KeyFilesAreCheckedAndNeverOverwritten) {
  TempDir dir;
  auto key = make_key(dir.path, "k");
  EXPECT_EQ(std::filesystem::status(key).permissions() & std::filesystem::perms::group_read,
            std::filesystem::perms::none);
  EXPECT_THROW(generate_key_pair(key), std::runtime_error);
  const auto before = read_signing_key(key).secret;
  EXPECT_EQ(read_signing_key(key).secret, before);

  std::ofstream(dir.path / "bad.pub") << "gradcore-ed25519-public-key zz\n";
  try {
    read_public_key(dir.path / "bad.pub");
    ADD_FAILURE() << "accepted a malformed public key";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.pub"), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_signing_key(key.string() + ".pub"), std::runtime_error);  // a public key is no secret key

  auto empty = dir.path / "empty";
  std::filesystem::create_directories(empty);
  EXPECT_THROW(TrustedKeys::from_directory(empty), std::runtime_error);
  auto keys_dir = dir.path / "trusted";
  std::filesystem::create_directories(keys_dir);
  std::filesystem::copy_file(key.string() + ".pub", keys_dir / "k.pub");
  EXPECT_EQ(TrustedKeys::from_directory(keys_dir).size(), 1u);
  EXPECT_NE(TrustedKeys::from_directory(keys_dir).find(read_signing_key(key).id()), nullptr);
}
