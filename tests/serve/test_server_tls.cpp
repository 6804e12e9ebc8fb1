// TLS on the serving port (serve/tls.h): a client that trusts the server's CA
// is answered; a client trusting another CA, a plaintext client and a
// handshake that stops half-way are refused or closed, while a good client
// on another connection keeps being answered; a connection over the limit
// is closed before its handshake; the load generator speaks it;
// a non-loopback address needs TLS or --insecure; the HTTP side door speaks
// HTTPS with the same certificate.
#include "serve/load_generator.h"
#include "tls_fixture.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <nlohmann/json.hpp>

using namespace gc::serve;
using namespace gc::serve::test;
using protocol::Status;

namespace {

// A client on its own thread sending one PREDICT after another, checking each
// answer, until stopped.
class GoodClient {
 public:
  GoodClient(int port, const tls::Context& trust, const std::string& model)
      : client_("127.0.0.1", port, 5000, &trust),
        images_(random_images(1, 8)),
        expected_(reference_answers(model, images_).classes[0]),
        thread_([this] { loop(); }) {}
  ~GoodClient() { stop(); }
  void stop() {
    done_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int answered() const { return answered_; }
  int failed() const { return failed_; }

 private:
  void loop() {
    while (!done_) {
      try {
        auto response = client_.predict(images_, 1);
        bool right = response.status == Status::ok && response.predictions[0].predicted_class == expected_;
        ++(right ? answered_ : failed_);
      } catch (const std::exception&) {
        ++failed_;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  Client client_;
  std::vector<uint8_t> images_;
  int expected_;
  std::atomic<bool> done_{false};
  std::atomic<int> answered_{0}, failed_{0};
  std::thread thread_;
};

int raw_connection(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  return fd;
}

// True when the server closes fd within timeout_ms (anything it sends first is dropped).
bool closed_within(int fd, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  uint8_t buffer[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    if (::recv(fd, buffer, sizeof buffer, 0) <= 0) return true;
  }
  return false;
}

uint64_t tls_failures(Client& client) {
  return nlohmann::json::parse(client.stats().json)["connections"]["tls_failed"].get<uint64_t>();
}

}  // namespace

TEST(ServeTls, ClientTrustingTheCaIsAnsweredByAddressAndByName) {
  TlsFiles tls;
  ModelFiles files;
  RunningServer server(tls_options(tls), files.v1);
  auto trust = tls::Context::client(tls.ca);
  auto images = random_images(3, 6);
  Reference ref = reference_answers(files.v1, images);
  for (const char* host : {"127.0.0.1", "localhost"}) {
    Client client(host, server.port(), 5000, &trust);
    ASSERT_TRUE(client.uses_tls());
    auto response = client.predict(images, 3, true);
    ASSERT_EQ(response.status, Status::ok) << host << ": " << response.message;
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(response.predictions[i].predicted_class, ref.classes[i]);
      for (int k = 0; k < 10; ++k) EXPECT_FLOAT_EQ(response.predictions[i].logits[k], ref.logits[i * 10 + k]);
    }
    EXPECT_EQ(client.health().model_version, 1);
    EXPECT_EQ(nlohmann::json::parse(client.info().json)["name"], "linear-test");
  }
}

TEST(ServeTls, LargeAnswersCrossManyRecordsBothWays) {
  TlsFiles tls;
  ModelFiles files;
  RunningServer server(tls_options(tls), files.v1);
  auto trust = tls::Context::client(tls.ca);
  Client client("127.0.0.1", server.port(), 5000, &trust);
  // 64 images: a 50 KiB request and, with logits, a 5 KiB answer; several
  // pipelined so that records and frames do not line up.
  auto images = random_images(64, 9);
  Reference ref = reference_answers(files.v1, images);
  std::vector<uint8_t> requests;
  for (uint64_t id = 1; id <= 8; ++id)
    protocol::append_predict_request(requests, id, protocol::PixelFormat::uint8, true, 64, {1, 28, 28}, images);
  client.send_bytes(requests);
  for (int answer = 0; answer < 8; ++answer) {
    Frame frame = client.read_frame();
    auto response = protocol::decode_predict_response(frame.payload);
    ASSERT_TRUE(response);
    ASSERT_EQ(response->status, Status::ok);
    for (int i = 0; i < 64; ++i) EXPECT_EQ(response->predictions[i].predicted_class, ref.classes[i]);
  }
}

TEST(ServeTls, LoadGeneratorOverTlsGetsEveryAnswerRight) {
  TlsFiles tls;
  ModelFiles files;
  RunningServer server(tls_options(tls), files.v1);
  LoadOptions options;
  options.port = server.port();
  options.tls = true;
  options.tls_ca_file = tls.ca;
  options.connections = 8;
  options.inflight = 4;
  options.threads = 2;
  options.batch = 8;  // 6 KiB requests: several TLS records each
  options.duration_s = 0.4;
  options.images = random_images(50, 10);
  options.expected_classes = reference_answers(files.v1, options.images).classes;
  LoadReport report = run_load(options);
  EXPECT_EQ(report.failures(), 0u) << format_report(report);
  EXPECT_GE(report.requests_ok, 8u);
  EXPECT_EQ(report.requests_ok, report.requests_sent);
  // Trusting another CA, no connection is made at all.
  options.tls_ca_file = tls.other_ca;
  EXPECT_THROW(run_load(options), std::runtime_error);
}

TEST(ServeTls, ClientTrustingAnotherCaFailsVerification) {
  TlsFiles tls;
  ModelFiles files;
  RunningServer server(tls_options(tls), files.v1);
  auto wrong = tls::Context::client(tls.other_ca);
  try {
    Client client("127.0.0.1", server.port(), 5000, &wrong);
    FAIL() << "the handshake succeeded with a CA that signed nothing";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("certificate verify failed"), std::string::npos) << e.what();
  }
  auto trust = tls::Context::client(tls.ca);
  Client check("127.0.0.1", server.port(), 5000, &trust);
  EXPECT_EQ(tls_failures(check), 1u);
}

TEST(ServeTls, CertificateForAnotherAddressFailsVerification) {
  TlsFiles tls;
  ModelFiles files;
  auto options = tls_options(tls);
  options.bind_address = "::1";  // the certificate names 127.0.0.1 and localhost only
  RunningServer server(options, files.v1);
  auto trust = tls::Context::client(tls.ca);
  try {
    Client client("::1", server.port(), 5000, &trust);
    FAIL() << "the handshake succeeded with a certificate for another address";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("IP address mismatch"), std::string::npos) << e.what();
  }
}

TEST(ServeTls, PlaintextClientsAndStalledHandshakesAreClosedWhileAGoodClientIsAnswered) {
  TlsFiles tls;
  ModelFiles files;
  auto options = tls_options(tls);
  options.idle_timeout_ms = 400;
  RunningServer server(options, files.v1);
  auto trust = tls::Context::client(tls.ca);
  GoodClient good(server.port(), trust, files.v1);

  // A plaintext client's frame is not a TLS record: closed at once.
  Client plain("127.0.0.1", server.port(), 2000);
  std::vector<uint8_t> frame;
  protocol::append_empty_request(frame, protocol::MessageType::health, 1);
  plain.send_bytes(frame);
  EXPECT_THROW(plain.read_frame(), std::runtime_error);
  EXPECT_TRUE(closed_by_server(plain));

  // A handshake that stops: the first 6 bytes of a ClientHello record (its
  // header declares 512 bytes), then nothing; and a connection that sends
  // nothing at all. Both are closed by the idle timeout.
  int stalled = raw_connection(server.port());
  const uint8_t hello_start[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01};
  ASSERT_EQ(::send(stalled, hello_start, sizeof hello_start, MSG_NOSIGNAL), 6);
  int silent = raw_connection(server.port());
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(closed_within(stalled, 3000));
  EXPECT_TRUE(closed_within(silent, 3000));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(2500));
  ::close(stalled);
  ::close(silent);

  // A handshake trickled a byte every 50 ms: its bytes are no progress, so
  // it is closed as soon as the stalled one.
  int trickling = raw_connection(server.port());
  start = std::chrono::steady_clock::now();
  bool trickle_closed = false;
  for (size_t sent = 0; !trickle_closed && std::chrono::steady_clock::now() - start < std::chrono::seconds(3);) {
    uint8_t byte = sent < sizeof hello_start ? hello_start[sent] : 0x00;
    if (::send(trickling, &byte, 1, MSG_NOSIGNAL) == 1) ++sent;
    trickle_closed = closed_within(trickling, 50);
  }
  EXPECT_TRUE(trickle_closed);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(2000));
  ::close(trickling);

  // A handshake cut off by the client's close.
  int cut = raw_connection(server.port());
  ASSERT_EQ(::send(cut, hello_start, sizeof hello_start, MSG_NOSIGNAL), 6);
  ::close(cut);

  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  good.stop();
  EXPECT_GT(good.answered(), 20);
  EXPECT_EQ(good.failed(), 0);
  Client check("127.0.0.1", server.port(), 5000, &trust);
  EXPECT_EQ(tls_failures(check), 2u);  // the plaintext client and the cut handshake
}

// Over the connection limit a TLS connection is closed before any
// handshake (no OVERLOADED frame: it would need one); the others go on.
TEST(ServeTls, ConnectionOverTheLimitIsClosedWithoutAHandshake) {
  TlsFiles tls;
  ModelFiles files;
  auto options = tls_options(tls);
  options.max_connections = 1;
  RunningServer server(options, files.v1);
  auto trust = tls::Context::client(tls.ca);
  Client first("127.0.0.1", server.port(), 5000, &trust);
  ASSERT_EQ(first.health().model_version, 1);
  try {
    Client second("127.0.0.1", server.port(), 5000, &trust);
    FAIL() << "a second connection was served over a limit of one";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("TLS handshake with 127.0.0.1 failed"), std::string::npos) << e.what();
  }
  EXPECT_EQ(first.predict(random_images(1, 3), 1).status, Status::ok);
  EXPECT_EQ(server.server().stats().connections_rejected.load(), 1u);
  EXPECT_EQ(tls_failures(first), 0u);
}

TEST(ServeTls, AddressesOtherThanLoopbackNeedTlsOrInsecure) {
  TlsFiles tls;
  ModelFiles files;
  auto options = test_options();
  options.bind_address = "0.0.0.0";
  try {
    Server refused(options, gc::serve::testing::load_linear_test_model, files.v1);
    FAIL() << "served plaintext on 0.0.0.0";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("--insecure"), std::string::npos) << e.what();
  }
  options.insecure = true;
  EXPECT_NO_THROW(Server(options, gc::serve::testing::load_linear_test_model, files.v1));
  options.insecure = false;
  options.tls_cert_file = tls.cert;
  options.tls_key_file = tls.key;
  EXPECT_NO_THROW(Server(options, gc::serve::testing::load_linear_test_model, files.v1));
  // Loopback needs neither.
  options = test_options();
  options.bind_address = "::1";
  EXPECT_NO_THROW(Server(options, gc::serve::testing::load_linear_test_model, files.v1));
}

TEST(ServeTls, MissingOrMismatchedFilesAreNamed) {
  TlsFiles tls;
  ModelFiles files;
  auto options = tls_options(tls);
  options.tls_key_file = tls.dir.file("ca.key");  // a key, but not the certificate's
  try {
    Server server(options, gc::serve::testing::load_linear_test_model, files.v1);
    FAIL() << "served with a key that is not the certificate's";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("key values mismatch"), std::string::npos) << e.what();
  }
  options.tls_cert_file = tls.dir.file("nowhere.pem");
  try {
    Server server(options, gc::serve::testing::load_linear_test_model, files.v1);
    FAIL() << "served without a certificate file";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("nowhere.pem"), std::string::npos) << e.what();
  }
}

TEST(ServeTls, HttpEndpointServesHttpsWithTheSameCertificate) {
  TlsFiles tls;
  ModelFiles files;
  auto options = tls_options(tls);
  options.http_port = 0;
  RunningServer server(options, files.v1);
  auto trust = tls::Context::client(tls.ca);
  Client http("127.0.0.1", server.server().http_port(), 5000, &trust);
  std::string request = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  http.send_bytes(std::span(reinterpret_cast<const uint8_t*>(request.data()), request.size()));
  std::string reply;
  uint8_t buffer[4096];
  for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
       std::chrono::steady_clock::now() < deadline;) {
    IoResult r = http.read_some(buffer, sizeof buffer);
    if (r.state == IoState::ok) reply.append(reinterpret_cast<char*>(buffer), r.bytes);
    if (r.state == IoState::closed || r.state == IoState::failed) break;
    pollfd p{http.fd(), POLLIN, 0};
    ::poll(&p, 1, 20);
  }
  EXPECT_NE(reply.find("200 OK"), std::string::npos) << reply;
  EXPECT_NE(reply.find("ok\n"), std::string::npos) << reply;
  // Plain HTTP on the HTTPS port gets no answer.
  Client plain("127.0.0.1", server.server().http_port(), 2000);
  plain.send_bytes(std::span(reinterpret_cast<const uint8_t*>(request.data()), request.size()));
  std::string plain_reply;
  for (ssize_t n; (n = ::recv(plain.fd(), buffer, sizeof buffer, 0)) > 0;)
    plain_reply.append(reinterpret_cast<char*>(buffer), n);
  EXPECT_EQ(plain_reply.find("200 OK"), std::string::npos) << plain_reply;
}
