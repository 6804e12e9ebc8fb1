// `gradcore serve` in a child process for the CLI tests, its stderr (the log)
// in a file of the test's directory; `client` talks to it with `gradcore client`.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include "tests/cli_run.h"

namespace gc::test {

inline std::string read_text(const std::string& file) {
  std::ifstream in(file);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class ServeProcess {
 public:
  ServeProcess(const std::string& arguments, const std::filesystem::path& log_dir)
      : log_((log_dir / ("serve-" + std::to_string(++count_) + ".log")).string()) {
    pid_ = fork();
    if (pid_ == 0) {
      std::string command = std::string("exec ") + GRADCORE_BINARY + " serve --port 0 " + arguments + " 2>" + log_;
      execl("/bin/sh", "sh", "-c", command.c_str(), nullptr);
      _exit(127);
    }
    // Wait for "event=serving ... port=N", or for the process to end.
    for (int i = 0; i < 400 && port_ == 0 && running(); ++i) {
      std::smatch m;
      std::string text = read_text(log_);
      if (std::regex_search(text, m, std::regex("event=serving port=(\\d+)"))) port_ = std::stoi(m[1]);
      else std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
  }
  ~ServeProcess() {
    if (running()) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  bool running() {
    if (exited_) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) exited_ = true;
    return !exited_;
  }
  int port() const { return port_; }
  std::string log() const { return read_text(log_); }
  CliRun client(const std::string& request) const {
    return gradcore("client --port " + std::to_string(port_) + " " + request);
  }

 private:
  static inline int count_ = 0;
  std::string log_;
  pid_t pid_ = -1;
  int port_ = 0;
  bool exited_ = false;
};

}  // namespace gc::test
