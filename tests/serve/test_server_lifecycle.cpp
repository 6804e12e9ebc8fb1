// Shutdown under load: stop() and a real SIGTERM both answer every request
// the server accepted, and the process exits 0.
#include "server_fixture.h"

#include "serve/load_generator.h"

#include <nlohmann/json.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <filesystem>
#include <fstream>

using namespace gc::serve;
using namespace gc::serve::test;
using protocol::Status;

namespace {

// Clients that predict in a loop until the server goes away; counts answers.
struct ClientLoad {
  std::atomic<uint64_t> answered{0}, bad{0};
  std::vector<std::thread> threads;

  ClientLoad(int port, int clients) {
    for (int c = 0; c < clients; ++c)
      threads.emplace_back([this, port, c] {
        auto images = random_images(2, 100 + c);
        try {
          Client client("127.0.0.1", port, 5000);
          for (;;) {
            auto response = client.predict(images, 2);
            if (response.status != Status::ok) ++bad;
            ++answered;
          }
        } catch (const std::exception&) {
          // The server closed the connection: the end of this client's run.
        }
      });
  }
  void join() {
    for (auto& t : threads) t.join();
  }
};

}  // namespace

TEST(ServeLifecycle, StopUnderLoadAnswersEveryAcceptedRequest) {
  ModelFiles files;
  auto server = std::make_unique<RunningServer>(test_options(), files.v1);
  ClientLoad load(server->port(), 8);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  server->stop();  // returns once run() has drained and returned
  load.join();
  uint64_t accepted = server->server().stats().requests[0].load();
  EXPECT_GT(accepted, 0u);
  EXPECT_EQ(load.answered.load(), accepted);
  EXPECT_EQ(load.bad.load(), 0u);
}

TEST(ServeLifecycle, SigtermUnderLoadDrainsAndExitsZero) {
  ModelFiles files;
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The child: a server that handles signals; reports its port, then after
    // draining the number of PREDICTs it accepted.
    ::close(pipe_fds[0]);
    auto options = test_options();
    options.handle_signals = true;
    Server server(options, gc::serve::testing::load_linear_test_model, files.v1);
    int port = server.port();
    if (::write(pipe_fds[1], &port, sizeof port) != sizeof port) _exit(3);
    server.run();
    uint64_t accepted = server.stats().requests[0].load();
    if (::write(pipe_fds[1], &accepted, sizeof accepted) != sizeof accepted) _exit(3);
    _exit(0);
  }
  ::close(pipe_fds[1]);
  int port = 0;
  ASSERT_EQ(::read(pipe_fds[0], &port, sizeof port), static_cast<ssize_t>(sizeof port));
  ClientLoad load(port, 6);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_EQ(kill(child, SIGTERM), 0);
  load.join();
  uint64_t accepted = 0;
  EXPECT_EQ(::read(pipe_fds[0], &accepted, sizeof accepted), static_cast<ssize_t>(sizeof accepted));
  ::close(pipe_fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_GT(accepted, 0u);
  EXPECT_EQ(load.answered.load(), accepted);
  EXPECT_EQ(load.bad.load(), 0u);
}

// SIGHUP reloads the served file: a new version is picked up, a corrupt file
// is refused and the current version keeps answering.
TEST(ServeLifecycle, SighupReloadsTheModelFileAndRefusesACorruptOne) {
  ModelFiles files;
  std::string served = files.dir.file("served.lin");
  std::filesystem::copy_file(files.v1, served);
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(pipe_fds[0]);
    auto options = test_options();
    options.handle_signals = true;
    Server server(options, gc::serve::testing::load_linear_test_model, served);
    int port = server.port();
    if (::write(pipe_fds[1], &port, sizeof port) != sizeof port) _exit(3);
    server.run();
    _exit(0);
  }
  ::close(pipe_fds[1]);
  int port = 0;
  ASSERT_EQ(::read(pipe_fds[0], &port, sizeof port), static_cast<ssize_t>(sizeof port));
  ::close(pipe_fds[0]);
  Client client("127.0.0.1", port, 5000);
  EXPECT_EQ(client.health().model_version, 1);

  // Waits (bounded) until the server answers with `version`.
  auto wait_for_version = [&](int64_t version) {
    for (int i = 0; i < 250 && client.health().model_version != version; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return client.health().model_version;
  };
  std::filesystem::copy_file(files.v2, served, std::filesystem::copy_options::overwrite_existing);
  ASSERT_EQ(kill(child, SIGHUP), 0);
  EXPECT_EQ(wait_for_version(2), 2);

  { std::ofstream(served, std::ios::trunc) << "not a model"; }
  ASSERT_EQ(kill(child, SIGHUP), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(client.health().model_version, 2);
  EXPECT_EQ(client.predict(random_images(1, 3), 1).model_version, 2);

  ASSERT_EQ(kill(child, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(ServeLifecycle, LoadGeneratorSeesNoFailures) {
  ModelFiles files;
  RunningServer server(test_options(), files.v1);
  LoadOptions options;
  options.port = server.port();
  options.connections = 16;
  options.inflight = 4;
  options.duration_s = 0.5;
  options.images = random_images(50, 8);
  options.expected_classes = reference_answers(files.v1, options.images).classes;
  LoadReport report = run_load(options);
  EXPECT_EQ(report.failures(), 0u) << format_report(report);
  EXPECT_GT(report.requests_ok, 100u);
  EXPECT_EQ(report.requests_ok, report.requests_sent);
}
