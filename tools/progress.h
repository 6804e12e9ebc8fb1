// A progress bar for the terminal (percent, batches/s, images/s, running
// loss, ETA), redrawn in place with '\r'; when stdout is not a terminal it
// prints a plain line every 10% instead.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace gc::tools {

class ProgressBar {
 public:
  ProgressBar(std::string label, int64_t batch_size);
  void update(int64_t done, int64_t total, double running_loss);
  // Ends the line (terminal mode).
  void finish();

 private:
  std::string label_;
  int64_t batch_size_;
  bool terminal_;
  int last_decile_ = -1;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace gc::tools
