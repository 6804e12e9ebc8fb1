// Data-parallel gradients: sums every parameter's gradient over the ranks
// while backward is still running, as PyTorch's DistributedDataParallel
// does. The parameters are grouped, in reverse order (the order backward
// produces their gradients: the last layer first), into buckets of about
// `bucket_floats` floats. A hook on each parameter (engine/tensor.h: a leaf's
// hook runs as soon as its gradient is final) copies the gradient into its
// bucket; when a bucket is full its sum starts (Communicator::start_sum), and
// the rest of backward overlaps with it. finish() waits for the sums and
// writes them into the parameters' .grad.
//
// Each rank's loss is its share of the global batch's mean (Σ over its images
// / global batch), so the summed gradient is the global batch's.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "distributed/communicator.h"
#include "layers/module.h"

namespace gc::distributed {

class GradientReducer {
 public:
  // 2^18 floats: 1 MiB buckets (seed CNN: 3 buckets).
  static constexpr size_t kDefaultBucketFloats = size_t{1} << 18;

  GradientReducer(Communicator& communicator, std::vector<ParamRef> params,
                  size_t bucket_floats = kDefaultBucketFloats);
  ~GradientReducer();
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  // After backward (or instead of it, on a rank with no images this step:
  // its gradients count as zeros): completes every bucket's sum and stores
  // the results as the parameters' gradients.
  void finish();

  size_t buckets() const;
  // Seconds spent in finish() waiting for sums, over all steps: the part of
  // the communication that backward did not hide.
  double exposed_seconds() const;

 private:
  struct State;
  std::shared_ptr<State> state_;  // shared with the hooks, which outlive this
};

}  // namespace gc::distributed
