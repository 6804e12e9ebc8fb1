// Per-layer training statistics (gradcore train --stats-every N), one JSONL
// line every N optimizer steps:
//
//   {"type":"stats","step":100,
//    "params":[{"name":"conv1.weight","weight_norm":..,"grad_norm":..,"update_norm":..,"update_ratio":..}, ...],
//    "layers":[{"name":"relu1","kind":"relu","shape":[128,32,26,26],"mean":..,"std":..,"min":..,"max":..,
//               "zero_fraction":..,"dead_fraction":..,"hist":{"lo":..,"hi":..,"counts":[..]}}, ...]}
//
// step counts optimizer steps done, as in the metrics log. Norms are L2 over
// the whole tensor; update_ratio = ‖w_after − w_before‖ / ‖w_before‖ across the
// step (≈1e-3 is the usual healthy rate). Activations come from forward hooks on
// every layer of the training forward pass of that step (evaluation passes are
// ignored). ReLU layers add dead_fraction: the fraction of units that output
// exactly 0 for every image of the batch (a unit is a channel of a [N, C, H, W]
// output, a feature of an [N, F] one).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "layers/sequential.h"

namespace gc::training {

class LayerStats {
 public:
  // Installs forward hooks on the model's layers; `first_step` is the index of
  // the next optimizer step (0, or where a resumed run continues). The model
  // must not run forward after this object is gone.
  LayerStats(Sequential& model, int64_t every, int64_t first_step, std::ostream& out);
  LayerStats(const LayerStats&) = delete;
  LayerStats& operator=(const LayerStats&) = delete;

  // Wire to TrainCallbacks::before_update / after_update.
  void before_update(int64_t step);
  void after_update(int64_t step);

 private:
  bool due(int64_t step) const { return (step + 1) % every_ == 0; }
  void record_activation(const Module& layer, const Tensor& output);

  struct ParamStat {
    std::string name;
    double weight_norm, grad_norm;
    Tensor before;  // the weights before the update
  };
  struct ActivationStat {
    std::string name, kind;
    Shape shape;
    double mean, std, min, max, zero_fraction, dead_fraction;  // dead_fraction < 0: not a ReLU
    std::vector<int64_t> histogram;                            // equal bins over [min, max]
  };

  Sequential& model_;
  int64_t every_;
  int64_t current_step_;  // the step whose forward pass runs now
  std::ostream& out_;
  std::vector<ParamStat> params_;
  std::vector<ActivationStat> activations_;
};

}  // namespace gc::training
