// Dynamic batching (docs/PROTOCOL.md): the queued PREDICTs of all
// connections run as one forward pass of up to max_batch images; with
// max_delay_us a batch may wait for the clients the previous batch answered.
#include "serve/event_loop.h"

#include <omp.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <exception>

namespace gc::serve {

using protocol::MessageType;
using protocol::PixelFormat;
using protocol::Status;

// The model's other OpenMP threads wait in a parallel region, asleep on an
// atomic (a futex), while this thread polls. Left alone they would spin
// between batches, on the cores the awaited clients need to send (on the
// 2-core VM with 64 connections: p99 8.0 → 5.9 ms, median of six runs).
void Server::EventLoop::gather_with_threads_parked(std::vector<epoll_event>& events) {
  std::atomic<bool> gathered{false};
  std::exception_ptr error;
#pragma omp parallel
  {
    if (omp_get_thread_num() != 0) {
      gathered.wait(false);
    } else {
      try {
        do {
          poll_once(events);
          flush_queued();
          if (now_ >= next_timeout_check_) check_timeouts();
        } while (!draining_ && (queue_.empty() || batch_should_wait()));
      } catch (...) {
        error = std::current_exception();
      }
      gathered.store(true);
      gathered.notify_all();
    }
  }
  if (error) std::rethrow_exception(error);
}

bool Server::EventLoop::batch_should_wait() const {
  bool could_fill = queued_images_ < options_.max_batch && options_.max_delay_us > 0 && awaited_ > 0;
  return could_fill && Clock::now() < queue_.front().received + std::chrono::microseconds(options_.max_delay_us);
}

void Server::EventLoop::run_batches(bool run_all) {
  while (!queue_.empty()) {
    if (!run_all && batch_should_wait()) return;
    run_one_batch();
    flush_queued();  // its answers go out before the next batch runs
  }
}

const ServingModel* Server::EventLoop::model_for(const QueuedPredict& request) const {
  const ServingModel& current = registry_->current();
  int64_t pinned = request.http ? request.http->pinned_version : -1;
  if (canary_ && (request.canary || (pinned >= 0 && pinned == canary_->version))) return &*canary_;
  if (pinned < 0 || pinned == current.version) return &current;
  const ServingModel* previous = registry_->previous();
  return previous && previous->version == pinned ? previous : nullptr;
}

void Server::EventLoop::run_one_batch() {
  // A request pinned to a version that a reload has since retired is answered alone.
  const ServingModel* chosen = model_for(queue_.front());
  if (!chosen) {
    QueuedPredict r = std::move(queue_.front());
    queue_.pop_front();
    queued_images_ -= r.count;
    if (Connection* c = find(r.connection_id)) {
      --c->owed;
      reply_http_error(*c, 404, "model version " + std::to_string(r.http->pinned_version) + " is no longer served");
      resume_http(*c);
    }
    return;
  }
  const ServingModel& model = *chosen;
  ++batches_run_;
  awaited_ = 0;
  // Take whole requests for the same model from the front while they fit; a
  // request whose pixel count no longer fits the model (a reload changed the
  // shape while it waited) is taken but answered with an error instead.
  size_t taken = 0;
  int images = 0;
  std::vector<bool> fits;
  while (taken < queue_.size()) {
    const QueuedPredict& r = queue_[taken];
    if (model_for(r) != chosen) break;
    size_t element = r.format == PixelFormat::uint8 ? 1 : 4;
    bool ok = r.pixels.size() == static_cast<size_t>(r.count) * model.pixels * element;
    if (ok && images + r.count > options_.max_batch) break;
    fits.push_back(ok);
    if (ok) images += r.count;
    ++taken;
  }

  batch_images_.resize(static_cast<size_t>(images) * model.pixels);
  batch_logits_.resize(static_cast<size_t>(images) * model.classes);
  std::string failure;
  if (images > 0) {
    float* destination = batch_images_.data();
    for (size_t i = 0; i < taken; ++i) {
      const QueuedPredict& r = queue_[i];
      if (!fits[i]) continue;
      if (r.format == PixelFormat::uint8)
        model.model->normalise(r.pixels.data(), r.count, destination);
      else
        std::memcpy(destination, r.pixels.data(), r.pixels.size());
      destination += static_cast<size_t>(r.count) * model.pixels;
    }
    try {
      model.model->forward(batch_images_.data(), images, batch_logits_.data());
    } catch (const std::exception& e) {
      failure = std::string("model failed: ") + e.what();
    } catch (...) {
      failure = "model failed";
    }
    if (failure.empty() && chosen == &registry_->current()) offer_to_shadow(model, images);
    stats.batches.fetch_add(1, std::memory_order_relaxed);
    stats.images.fetch_add(static_cast<uint64_t>(images), std::memory_order_relaxed);
    stats.batch_sizes.record(images);
  }

  VersionStats& answered_by = stats.version_stats(model.version);
  const float* logits = batch_logits_.data();
  const uint16_t type = response_type(MessageType::predict);
  for (size_t i = 0; i < taken; ++i) {
    const QueuedPredict& r = queue_[i];
    Connection* c = find(r.connection_id);
    if (c && r.http) {
      --c->owed;
      answer_http_predict(*c, r, model, logits,
                          !fits[i] ? "the model's input shape changed on reload" : failure);
      http_answered_.push_back(c->id);
      start_awaiting(*c);
      answered_by.answers.fetch_add(1, std::memory_order_relaxed);
      answered_receipts_.push_back({r.received, &answered_by});
    } else if (c) {
      --c->owed;
      if (!fits[i])
        reply_error(*c, type, r.request_id, Status::wrong_image_size, "the model's input shape changed on reload");
      else if (!failure.empty())
        reply_error(*c, type, r.request_id, Status::internal, failure);
      else if (int bad = first_non_finite_image(logits, r.count, model.classes); bad >= 0)
        refuse_non_finite(*c, r, bad, model.version);
      else
        append_prediction(*c, r, model, logits);
      start_awaiting(*c);
      queue_flush(*c);
      answered_by.answers.fetch_add(1, std::memory_order_relaxed);
      answered_receipts_.push_back({r.received, &answered_by});
    }
    if (fits[i]) logits += static_cast<size_t>(r.count) * model.classes;
  }
  for (size_t i = 0; i < taken; ++i) queued_images_ -= queue_[i].count;
  queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(taken));
  // Now that the queue is settled, the answered HTTP connections may take their next requests.
  for (uint64_t id : http_answered_)
    if (Connection* c = find(id)) resume_http(*c);
  http_answered_.clear();
}

// The first of `count` images with a logit that is NaN or infinite, or -1.
// Each image's logits depend on that image alone, so one such image spoils
// only its own request, never the rest of the batch.
int Server::EventLoop::first_non_finite_image(const float* logits, int count, int classes) {
  for (int i = 0; i < count; ++i)
    for (int k = 0; k < classes; ++k)
      if (!std::isfinite(logits[static_cast<size_t>(i) * classes + k])) return i;
  return -1;
}

void Server::EventLoop::refuse_non_finite(Connection& c, const QueuedPredict& request, int image,
                                          int64_t model_version) {
  stats.non_finite_answers.fetch_add(1, std::memory_order_relaxed);
  reply_error(c, response_type(MessageType::predict), request.request_id, Status::internal,
              "model version " + std::to_string(model_version) + " gave a non-finite logit for image " +
                  std::to_string(image) + " of " + std::to_string(request.count));
}

void Server::EventLoop::append_prediction(Connection& c, const QueuedPredict& request, const ServingModel& model,
                                          const float* logits) {
  size_t start = protocol::begin_frame(c.output, response_type(MessageType::predict), request.request_id);
  protocol::append_predict_response_start(c.output, request.want_logits, request.count, model.classes,
                                          model.version);
  protocol::ByteWriter w(c.output);
  probabilities_.resize(model.classes);
  for (int i = 0; i < request.count; ++i) {
    const float* image_logits = logits + static_cast<size_t>(i) * model.classes;
    int best = 0;
    float top = image_logits[0];
    for (int k = 1; k < model.classes; ++k)
      if (image_logits[k] > top) top = image_logits[k], best = k;
    double sum = 0;
    for (int k = 0; k < model.classes; ++k) sum += probabilities_[k] = std::exp(image_logits[k] - top);
    w.u32(static_cast<uint32_t>(best));
    for (int k = 0; k < model.classes; ++k) w.f32(static_cast<float>(probabilities_[k] / sum));
    if (request.want_logits)
      for (int k = 0; k < model.classes; ++k) w.f32(image_logits[k]);
  }
  protocol::end_frame(c.output, start);
}

void Server::EventLoop::start_awaiting(Connection& c) {
  if (c.answered_by_batch == batches_run_) return;  // already counted for this batch
  c.answered_by_batch = batches_run_;
  c.sent_since_answer = false;
  ++awaited_;
}

void Server::EventLoop::stop_awaiting(Connection& c) {
  if (c.answered_by_batch == batches_run_ && !c.sent_since_answer) --awaited_;
  c.sent_since_answer = true;
}

}  // namespace gc::serve
