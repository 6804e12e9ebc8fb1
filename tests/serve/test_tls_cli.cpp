// The TLS options of the gradcore binary: `client` and `loadgen` with --tls
// and --tls-ca against a TLS server (in this process), and `serve` reading
// --tls-cert and --tls-key (a key that is not the certificate's is refused
// before the model is read).
#include "tests/cli_run.h"
#include "tls_fixture.h"

using gc::test::gradcore;
using namespace gc::serve;
using namespace gc::serve::test;

TEST(ServeTlsCli, ClientAndLoadgenVerifyTheServer) {
  TlsFiles tls;
  ModelFiles files;
  RunningServer server(tls_options(tls), files.v1);
  const std::string port = " --port " + std::to_string(server.port());

  auto health = gradcore("client" + port + " --tls --tls-ca " + tls.ca + " health");
  EXPECT_EQ(health.exit_code, 0) << health.output;
  EXPECT_NE(health.output.find("serving model_version=1"), std::string::npos) << health.output;

  auto by_name = gradcore("client --host localhost" + port + " --tls --tls-ca " + tls.ca + " info");
  EXPECT_EQ(by_name.exit_code, 0) << by_name.output;
  EXPECT_NE(by_name.output.find("linear-test"), std::string::npos) << by_name.output;

  auto wrong_ca = gradcore("client" + port + " --tls --tls-ca " + tls.other_ca + " health");
  EXPECT_EQ(wrong_ca.exit_code, 1) << wrong_ca.output;
  EXPECT_NE(wrong_ca.output.find("certificate verify failed"), std::string::npos) << wrong_ca.output;

  auto plaintext = gradcore("client" + port + " --timeout-ms 2000 health");
  EXPECT_EQ(plaintext.exit_code, 1) << plaintext.output;

  auto load = gradcore("loadgen" + port + " --tls --tls-ca " + tls.ca + " --connections 4 --duration 0.3");
  EXPECT_EQ(load.exit_code, 0) << load.output;
  EXPECT_NE(load.output.find("over TLS"), std::string::npos) << load.output;
  EXPECT_NE(load.output.find("failures    0 "), std::string::npos) << load.output;

  auto ca_without_tls = gradcore("client" + port + " --tls-ca " + tls.ca + " health");
  EXPECT_NE(ca_without_tls.exit_code, 0) << ca_without_tls.output;
  EXPECT_NE(ca_without_tls.output.find("--tls-ca requires --tls"), std::string::npos) << ca_without_tls.output;
}

TEST(ServeTlsCli, ServeReadsTheCertificateAndKey) {
  TlsFiles tls;
  auto mismatched = gradcore("serve --model /nonexistent/m.gcm --port 0 --tls-cert " + tls.cert + " --tls-key " +
                             tls.dir.file("ca.key"));
  EXPECT_EQ(mismatched.exit_code, 1) << mismatched.output;
  EXPECT_NE(mismatched.output.find("key values mismatch"), std::string::npos) << mismatched.output;
  // With the right pair, TLS is set up and the next complaint is the model.
  auto right = gradcore("serve --model /nonexistent/m.gcm --port 0 --bind 0.0.0.0 --tls-cert " + tls.cert +
                        " --tls-key " + tls.key);
  EXPECT_EQ(right.exit_code, 1) << right.output;
  EXPECT_NE(right.output.find("/nonexistent/m.gcm"), std::string::npos) << right.output;
}
