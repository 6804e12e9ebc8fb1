#include "serve/shadow.h"

#include "serve/log.h"

#include <sys/resource.h>
#include <unistd.h>

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <string>

namespace gc::serve {

ShadowRunner::ShadowRunner(ServingModel model, int live_classes, ShadowStats& stats)
    : model_(std::move(model)), stats_(stats) {
  stats_.disagreements_by_live_class = std::vector<Counter>(static_cast<size_t>(live_classes));
  stats_.version.store(model_.version, std::memory_order_relaxed);
  thread_ = std::thread([this] { work(); });
}

ShadowRunner::~ShadowRunner() {
  retire();
  thread_.join();
}

void ShadowRunner::retire() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    queue_.clear();
  }
  retired_ = true;
  wake_.notify_one();
}

void ShadowRunner::offer(std::vector<float> images, int pixels, std::vector<int> live_classes) {
  stats_.batches_offered.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() < kMaxQueuedBatches) {
      queue_.push_back({std::move(images), pixels, std::move(live_classes)});
      wake_.notify_one();
      return;
    }
  }
  stats_.batches_dropped.fetch_add(1, std::memory_order_relaxed);
}

void ShadowRunner::work() {
  // Nice 19 for this thread alone (Linux sets niceness per thread), and one
  // OpenMP thread for the parallel regions it starts: the live model's
  // batches and the clients get the cores first.
  setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 19);
  omp_set_num_threads(1);
  for (;;) {
    Batch batch;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      batch = std::move(queue_.front());
      queue_.pop_front();
    }
    compare(batch);
  }
}

void ShadowRunner::compare(const Batch& batch) {
  const int count = static_cast<int>(batch.live_classes.size());
  if (batch.pixels != model_.pixels) {  // a reload changed the live model's input shape
    stats_.batches_failed.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  logits_.resize(static_cast<size_t>(count) * model_.classes);
  auto started = std::chrono::steady_clock::now();
  try {
    model_.model->forward(batch.images.data(), count, logits_.data());
  } catch (const std::exception& e) {
    stats_.batches_failed.fetch_add(1, std::memory_order_relaxed);
    log_event({{"event", "shadow_failed"}, {"version", std::to_string(model_.version)}, {"error", e.what()}});
    return;
  }
  auto took = std::chrono::steady_clock::now() - started;
  stats_.latency_us.record(
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(took).count()));
  uint64_t agreed = 0;
  for (int i = 0; i < count; ++i) {
    const float* image_logits = logits_.data() + static_cast<size_t>(i) * model_.classes;
    int shadow_class = static_cast<int>(std::max_element(image_logits, image_logits + model_.classes) - image_logits);
    int live_class = batch.live_classes[i];
    if (shadow_class == live_class)
      ++agreed;
    else if (static_cast<size_t>(live_class) < stats_.disagreements_by_live_class.size())
      stats_.disagreements_by_live_class[live_class].fetch_add(1, std::memory_order_relaxed);
  }
  stats_.images_agreed.fetch_add(agreed, std::memory_order_relaxed);
  stats_.images_compared.fetch_add(static_cast<uint64_t>(count), std::memory_order_relaxed);
}

}  // namespace gc::serve
