// The shadow model: a candidate that sees a sample of the live model's
// batches and answers nobody. The I/O thread hands it a copy of a batch's
// normalised images and the live model's top classes; a thread of its own,
// at the lowest CPU priority and with one OpenMP thread, runs the candidate
// and counts where its top class agrees (ShadowStats). The hand-over queue
// holds a few batches and drops a batch when full, so the shadow can fall
// behind but never hold up an answer.
#pragma once

#include "serve/model_registry.h"
#include "serve/stats.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace gc::serve {

class ShadowRunner {
 public:
  static constexpr size_t kMaxQueuedBatches = 4;

  // `stats` must outlive the runner; its per-class counters get sized here
  // to `live_classes`.
  ShadowRunner(ServingModel model, int live_classes, ShadowStats& stats);
  ~ShadowRunner();  // stops the thread; queued batches are dropped uncounted
  ShadowRunner(const ShadowRunner&) = delete;
  ShadowRunner& operator=(const ShadowRunner&) = delete;

  const ServingModel& model() const { return model_; }

  // Stops taking batches, without waiting: the thread ends after the batch
  // it may be running (the destructor joins it), so a reload that retires
  // the shadow does not wait for a slow, low-priority forward pass.
  void retire();
  bool retired() const { return retired_; }

  // Queues a live batch: `images` normalised images of `pixels` floats each,
  // `live_classes` the live model's top class for each. Counts it as offered,
  // and as dropped when the queue is full. Not after retire().
  void offer(std::vector<float> images, int pixels, std::vector<int> live_classes);

 private:
  struct Batch {
    std::vector<float> images;
    int pixels = 0;
    std::vector<int> live_classes;
  };
  void work();
  void compare(const Batch& batch);

  ServingModel model_;
  ShadowStats& stats_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Batch> queue_;  // guarded by mutex_
  bool stopping_ = false;    // guarded by mutex_
  bool retired_ = false;     // the I/O thread's own view of stopping_
  std::vector<float> logits_;  // the shadow thread's own
  std::thread thread_;  // last: starts once the rest is built
};

}  // namespace gc::serve
