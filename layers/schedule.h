// Learning-rate schedules: the rate for a given step (0-based) of a run of
// `total_steps` steps.
//   constant
//   step       lr · gamma^⌊step / step_size⌋
//   cosine     min + (lr − min) · (1 + cos(π · step / total)) / 2        (Loshchilov & Hutter 2017)
//   onecycle   linear warm-up from lr/25 to lr over `warmup` of the run, then cosine down to lr/1e4
//              (Smith & Topin 2019)
#pragma once

#include <cstdint>
#include <string>

namespace gc {

struct Schedule {
  std::string kind = "constant";
  double base_lr = 1e-3;
  int64_t total_steps = 1;
  int64_t step_size = 1000;  // step
  double gamma = 0.1;        // step
  double min_lr = 0;         // cosine
  double warmup = 0.3;       // onecycle: fraction of the run spent warming up

  double lr_at(int64_t step) const;
};

// Throws std::invalid_argument for an unknown kind.
Schedule make_schedule(const std::string& kind, double base_lr, int64_t total_steps);

}  // namespace gc
