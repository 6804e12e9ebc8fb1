// `gradcore serve --trusted-keys DIR` end to end: it starts only with a model
// signed by a trusted key; RELOAD of an unsigned, tampered or foreign-signed
// model is refused with the reason while the current model keeps answering;
// every admin action is one audit line with the peer, file and checksum or
// key id, and counted in STATS. Also keygen, sign, inspect and eval/predict's
// --trusted-keys.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <thread>

#include "../cli_run.h"
#include "../serve_process.h"
#include "layers/spec.h"
#include "serialize/model_io.h"
#include "serialize/model_store.h"

using gc::test::gradcore;
using gc::test::ServeProcess;

namespace {

const std::filesystem::path kDir = gc::test::temp_dir("trust");
const std::string kToken = "trust-test-token";

std::string path(const std::string& name) { return (kDir / name).string(); }

void save(const std::string& name, int64_t version) {
  auto model = gc::build_model("mlp");
  gc::ModelInfo info;
  info.name = "trust-test";
  info.version = version;
  gc::save_model(path(name), *model, info);
}

class SignedServing : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::filesystem::create_directories(kDir / "trusted");
    ASSERT_EQ(gradcore("keygen --out " + path("ours")).exit_code, 0);
    ASSERT_EQ(gradcore("keygen --out " + path("theirs")).exit_code, 0);
    std::filesystem::copy_file(path("ours.pub"), kDir / "trusted" / "ours.pub",
                               std::filesystem::copy_options::overwrite_existing);
    std::ofstream(path("token")) << kToken;
    save("v1.gcm", 1);
    save("v2.gcm", 2);
    save("unsigned.gcm", 3);
    save("theirs.gcm", 4);
    save("tampered.gcm", 5);
    for (const char* name : {"v1.gcm", "v2.gcm", "tampered.gcm"})
      ASSERT_EQ(gradcore("sign --key " + path("ours") + " " + path(name)).exit_code, 0);
    ASSERT_EQ(gradcore("sign --key " + path("theirs") + " " + path("theirs.gcm")).exit_code, 0);
    // One byte of a weight changed after signing, the checksums recomputed as
    // an attacker would: rewrite through the format library.
    auto file = gc::serialize::read_model_file(path("tampered.gcm"));
    auto& weight = file.tensors.front();
    weight.data[0] ^= std::byte{0x01};
    gc::serialize::write_model_file(path("tampered.gcm"), file);
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(kDir); }

  std::string serve_args(const std::string& model) const {
    return "--model " + path(model) + " --trusted-keys " + path("trusted") + " --token-file " + path("token");
  }
};

}  // namespace

TEST_F(SignedServing, InspectShowsTheSignerAndChecksItOnRequest) {
  auto inspected = gradcore("inspect " + path("v1.gcm"));
  EXPECT_EQ(inspected.exit_code, 0) << inspected.output;
  EXPECT_NE(inspected.output.find("signature: key "), std::string::npos) << inspected.output;
  EXPECT_NE(inspected.output.find("not checked"), std::string::npos) << inspected.output;
  auto trusted = gradcore("inspect " + path("v1.gcm") + " --trusted-keys " + path("trusted"));
  EXPECT_EQ(trusted.exit_code, 0) << trusted.output;
  EXPECT_NE(trusted.output.find("VALID, trusted"), std::string::npos) << trusted.output;
  auto foreign = gradcore("inspect " + path("theirs.gcm") + " --trusted-keys " + path("trusted"));
  EXPECT_EQ(foreign.exit_code, 1) << foreign.output;
  EXPECT_NE(foreign.output.find("not among the trusted keys"), std::string::npos) << foreign.output;
  EXPECT_NE(gradcore("inspect " + path("unsigned.gcm")).output.find("signature: unsigned"), std::string::npos);
}

TEST_F(SignedServing, StartsOnlyWithATrustedModel) {
  for (const char* model : {"unsigned.gcm", "theirs.gcm", "tampered.gcm"}) {
    ServeProcess server(serve_args(model), kDir);
    for (int i = 0; i < 200 && server.running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
    EXPECT_FALSE(server.running()) << model << " was served";
    EXPECT_EQ(server.port(), 0) << model;
    EXPECT_NE(server.log().find(path(model)), std::string::npos) << server.log();
  }
}

TEST_F(SignedServing, ReloadRefusesUntrustedModelsAndKeepsServing) {
  ServeProcess server(serve_args("v1.gcm"), kDir);
  ASSERT_GT(server.port(), 0) << server.log();
  const std::string reload = "reload --token-file " + path("token") + " --path ";
  const std::pair<const char*, const char*> refusals[] = {
      {"unsigned.gcm", "unsigned model"}, {"theirs.gcm", "not among the trusted keys"}, {"tampered.gcm", "tampered"}};
  for (const auto& [model, reason] : refusals) {
    auto r = server.client(reload + path(model));
    EXPECT_NE(r.exit_code, 0) << model << ": " << r.output;
    EXPECT_NE(r.output.find(reason), std::string::npos) << model << ": " << r.output;
    auto health = server.client("health");
    EXPECT_NE(health.output.find("model_version=1"), std::string::npos) << health.output;
  }
  auto wrong_token = gradcore("client --port " + std::to_string(server.port()) + " reload --path " + path("v2.gcm") +
                              " --token-file " + path("ours.pub"));
  EXPECT_NE(wrong_token.exit_code, 0) << wrong_token.output;

  auto ok = server.client(reload + path("v2.gcm"));
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(server.client("health").output.find("model_version=2"), std::string::npos);
  EXPECT_EQ(server.client("reload --rollback --token-file " + path("token")).exit_code, 0);

  auto stats = server.client("stats");
  EXPECT_NE(stats.output.find("\"untrusted_model\": 3"), std::string::npos) << stats.output;
  EXPECT_NE(stats.output.find("\"bad_token\": 1"), std::string::npos) << stats.output;
  EXPECT_NE(stats.output.find("\"roll_backs\": 1"), std::string::npos) << stats.output;

  // One audit line per admin action, naming the peer, the file, and the checksum and signer when loaded.
  const std::string log = server.log();
  EXPECT_EQ(gc::test::count_lines_with(log, "event=reload action=load status=refused_model peer=127.0.0.1:"), 3) << log;
  EXPECT_EQ(gc::test::count_lines_with(log, "status=refused_token peer=127.0.0.1:"), 1) << log;
  const std::string signer = gc::serialize::claimed_signer(gc::serialize::read_model_file(path("v2.gcm")));
  EXPECT_TRUE(std::regex_search(log, std::regex("event=reload action=load status=ok peer=127\\.0\\.0\\.1:\\d+ path=" +
                                                path("v2.gcm") + " checksum=crc32c:0x[0-9A-F]{8} signer=" + signer)))
      << log;
  EXPECT_NE(log.find("event=reload action=roll_back status=ok peer=127.0.0.1:"), std::string::npos) << log;
}

TEST_F(SignedServing, EvalAndPredictTakeTrustedKeys) {
  std::string stroke(784, '\0');  // a "1": one vertical bar
  for (int row = 4; row < 24; ++row) stroke[row * 28 + 14] = stroke[row * 28 + 15] = '\xff';
  std::ofstream(path("one.pgm"), std::ios::binary) << "P5 28 28 255\n" << stroke;
  auto good = gradcore("predict --model " + path("v1.gcm") + " --trusted-keys " + path("trusted") + " " +
                       path("one.pgm"));
  EXPECT_EQ(good.exit_code, 0) << good.output;
  auto bad = gradcore("predict --model " + path("unsigned.gcm") + " --trusted-keys " + path("trusted") + " " +
                      path("one.pgm"));
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_NE(bad.output.find("unsigned model"), std::string::npos) << bad.output;
  auto eval = gradcore("eval --model " + path("tampered.gcm") + " --trusted-keys " + path("trusted"));
  EXPECT_EQ(eval.exit_code, 1) << eval.output;
  EXPECT_NE(eval.output.find("tampered"), std::string::npos) << eval.output;
}
