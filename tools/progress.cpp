#include "tools/progress.h"

#include <unistd.h>

#include <cstdio>

namespace gc::tools {

ProgressBar::ProgressBar(std::string label, int64_t batch_size)
    : label_(std::move(label)), batch_size_(batch_size), terminal_(isatty(STDOUT_FILENO)),
      start_(std::chrono::steady_clock::now()) {}

void ProgressBar::update(int64_t done, int64_t total, double running_loss) {
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double fraction = total ? static_cast<double>(done) / static_cast<double>(total) : 1;
  double batches_per_s = elapsed > 0 ? static_cast<double>(done) / elapsed : 0;
  double eta = batches_per_s > 0 ? static_cast<double>(total - done) / batches_per_s : 0;
  int decile = static_cast<int>(fraction * 10);
  // Rates over a few milliseconds mean nothing: wait for a tenth of the epoch.
  if (decile == 0 || (!terminal_ && decile == last_decile_)) return;
  last_decile_ = decile;
  constexpr int kWidth = 30;
  int filled = static_cast<int>(fraction * kWidth);
  std::string bar = std::string(filled, '#') + std::string(kWidth - filled, '.');
  std::printf("%s%s [%s] %3.0f%% %6.1f batch/s %7.0f img/s loss %.4f ETA %4.0fs%s", terminal_ ? "\r" : "",
              label_.c_str(), bar.c_str(), fraction * 100, batches_per_s,
              batches_per_s * static_cast<double>(batch_size_), running_loss, eta, terminal_ ? "" : "\n");
  std::fflush(stdout);
}

void ProgressBar::finish() {
  if (terminal_) std::printf("\n");
}

}  // namespace gc::tools
