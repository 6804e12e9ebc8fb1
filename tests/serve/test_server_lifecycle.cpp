// Shutdown under load: stop() and a real SIGTERM both answer every request
// the server accepted, and the process exits 0. SIGHUP reloads the model.
#include "server_fixture.h"

#include "serve/load_generator.h"

#include <nlohmann/json.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

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

// A server in a forked child that handles signals like `gradcore serve`. The
// child reports its port and, after draining, how many PREDICTs it accepted.
struct ForkedServer {
  pid_t pid = -1;
  int port = 0;
  int report_fd = -1;

  explicit ForkedServer(const std::string& model_path, ModelLoader loader = gc::serve::testing::load_linear_test_model) {
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0) throw std::runtime_error("pipe failed");
    pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      ::close(pipe_fds[0]);
      auto options = test_options();
      options.handle_signals = true;
      Server server(options, loader, model_path);
      int child_port = server.port();
      if (::write(pipe_fds[1], &child_port, sizeof child_port) != sizeof child_port) _exit(3);
      server.run();
      uint64_t accepted = server.stats().requests[0].load();
      if (::write(pipe_fds[1], &accepted, sizeof accepted) != sizeof accepted) _exit(3);
      _exit(0);
    }
    ::close(pipe_fds[1]);
    report_fd = pipe_fds[0];
    if (::read(report_fd, &port, sizeof port) != static_cast<ssize_t>(sizeof port))
      throw std::runtime_error("the server child did not report its port");
  }
  ~ForkedServer() { ::close(report_fd); }

  struct Exit {
    int code;
    uint64_t accepted;
  };
  // SIGTERM, then the exit code and the number of PREDICTs the child accepted.
  Exit terminate() {
    kill(pid, SIGTERM);
    uint64_t accepted = 0;
    if (::read(report_fd, &accepted, sizeof accepted) != static_cast<ssize_t>(sizeof accepted)) accepted = 0;
    int status = 0;
    waitpid(pid, &status, 0);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), accepted};
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
  ForkedServer server(files.v1);
  ClientLoad load(server.port, 6);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ForkedServer::Exit exit = server.terminate();
  load.join();
  EXPECT_EQ(exit.code, 0);
  EXPECT_GT(exit.accepted, 0u);
  EXPECT_EQ(load.answered.load(), exit.accepted);
  EXPECT_EQ(load.bad.load(), 0u);
}

// A loader may leave threads behind (the real model's validation forward
// pass starts the OpenMP team): they must not take SIGTERM's default action,
// which would kill the process undrained (exit 143).
TEST(ServeLifecycle, SigtermDrainsWhenTheModelLoaderLeftAThreadRunning) {
  ModelFiles files;
  ModelLoader loader = [](const std::string& path) {
    std::thread([] {
      for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
    }).detach();
    return gc::serve::testing::load_linear_test_model(path);
  };
  ForkedServer server(files.v1, loader);
  ClientLoad load(server.port, 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ForkedServer::Exit exit = server.terminate();
  load.join();
  EXPECT_EQ(exit.code, 0);
  EXPECT_EQ(load.answered.load(), exit.accepted);
  EXPECT_EQ(load.bad.load(), 0u);
}

// SIGHUP reloads the served file: a new version is picked up, a corrupt file
// is refused and the current version keeps answering.
TEST(ServeLifecycle, SighupReloadsTheModelFileAndRefusesACorruptOne) {
  ModelFiles files;
  std::string served = files.dir.file("served.lin");
  std::filesystem::copy_file(files.v1, served);
  ForkedServer server(served);
  Client client("127.0.0.1", server.port, 5000);
  EXPECT_EQ(client.health().model_version, 1);

  // Waits (bounded) until the server answers with `version`.
  auto wait_for_version = [&](int64_t version) {
    for (int i = 0; i < 250 && client.health().model_version != version; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return client.health().model_version;
  };
  std::filesystem::copy_file(files.v2, served, std::filesystem::copy_options::overwrite_existing);
  ASSERT_EQ(kill(server.pid, SIGHUP), 0);
  EXPECT_EQ(wait_for_version(2), 2);

  { std::ofstream(served, std::ios::trunc) << "not a model"; }
  ASSERT_EQ(kill(server.pid, SIGHUP), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(client.health().model_version, 2);
  EXPECT_EQ(client.predict(random_images(1, 3), 1).model_version, 2);

  EXPECT_EQ(server.terminate().code, 0);
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
  // The process's CPU over the run (here it holds the server too): some was
  // spent, and no more than every core for the run's length (plus slack).
  const double cpu = report.client_user_s + report.client_system_s;
  EXPECT_GT(cpu, 0.0);
  EXPECT_LT(cpu, (report.seconds + 0.5) * std::thread::hardware_concurrency());
  EXPECT_NE(format_report(report).find("us system per request"), std::string::npos);
}

// With client threads the connections are split among them (16 over 3: 6, 5
// and 5; 2 over 4: one thread each, two threads unused), and their reports
// add up.
TEST(ServeLifecycle, LoadGeneratorThreadsSplitTheConnections) {
  ModelFiles files;
  RunningServer server(test_options(), files.v1);
  for (auto [connections, threads] : {std::pair{16, 3}, std::pair{2, 4}}) {
    SCOPED_TRACE(std::to_string(connections) + " connections, " + std::to_string(threads) + " threads");
    LoadOptions options;
    options.port = server.port();
    options.connections = connections;
    options.threads = threads;
    options.inflight = 2;
    options.duration_s = 0.4;
    options.images = random_images(50, 9);
    options.expected_classes = reference_answers(files.v1, options.images).classes;
    const uint64_t accepted_before = server.server().stats().connections_accepted.load();
    LoadReport report = run_load(options);
    EXPECT_EQ(report.failures(), 0u) << format_report(report);
    // Every connection was answered; how many times depends on the machine's load (not asserted).
    EXPECT_GE(report.requests_ok, static_cast<uint64_t>(connections));
    EXPECT_EQ(report.requests_ok, report.requests_sent);
    EXPECT_EQ(server.server().stats().connections_accepted.load() - accepted_before, uint64_t(connections));
    EXPECT_GT(report.p50_us, 0.0);
  }
}
