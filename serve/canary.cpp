// The canary and shadow models beside the live one (docs/SERVING.md,
// "Canary and shadow models"): loading them, the canary's share of the
// requests, the shadow's sample of the batches, and what a reload that
// promotes one of them does.
#include "serve/canary.h"

#include "serve/event_loop.h"
#include "serve/log.h"

#include <stdexcept>

namespace gc::serve {

namespace {

void check_percent(double percent, const char* option) {
  if (!(percent >= 0 && percent <= 100))
    throw std::invalid_argument(std::string(option) + " must be 0..100, got " + std::to_string(percent));
}

void check_same_input(const ServingModel& candidate, const ServingModel& live, const char* role) {
  if (candidate.shape != live.shape)
    throw std::invalid_argument(std::string("the ") + role + " model " + candidate.path + " takes " +
                                std::to_string(candidate.pixels) + " pixels per image, the live model " + live.path +
                                " " + std::to_string(live.pixels));
}

}  // namespace

void Server::EventLoop::load_candidates(const ModelLoader& loader) {
  const ServingModel& live = registry_->current();
  check_percent(options_.canary_percent, "canary_percent");
  check_percent(options_.shadow_percent, "shadow_percent");
  if (!options_.canary_model_path.empty()) {
    canary_ = load_and_validate(loader, options_.canary_model_path);
    check_same_input(*canary_, live, "canary");
    stats.canary_version = canary_->version;
    stats.canary_percent = options_.canary_percent;
    log_event({{"event", "canary"}, {"path", canary_->path}, {"version", std::to_string(canary_->version)},
               {"percent", std::to_string(options_.canary_percent)}});
  }
  if (!options_.shadow_model_path.empty()) {
    ServingModel shadow = load_and_validate(loader, options_.shadow_model_path);
    check_same_input(shadow, live, "shadow");
    log_event({{"event", "shadow"}, {"path", shadow.path}, {"version", std::to_string(shadow.version)},
               {"percent", std::to_string(options_.shadow_percent)}});
    shadow_ = std::make_unique<ShadowRunner>(std::move(shadow), live.classes, stats.shadow);
  }
}

bool Server::EventLoop::in_canary_share(uint64_t key) const {
  return canary_ && in_sample(key, options_.canary_percent);
}

void Server::EventLoop::offer_to_shadow(const ServingModel& live, int images) {
  if (!shadow_ || shadow_->retired() || images == 0 || !in_sample(batches_run_, options_.shadow_percent)) return;
  std::vector<int> live_classes(static_cast<size_t>(images));
  for (int i = 0; i < images; ++i) {
    const float* logits = batch_logits_.data() + static_cast<size_t>(i) * live.classes;
    int best = 0;
    for (int k = 1; k < live.classes; ++k)
      if (logits[k] > logits[best]) best = k;
    live_classes[i] = best;
  }
  const float* first = batch_images_.data();
  shadow_->offer(std::vector<float>(first, first + static_cast<size_t>(images) * live.pixels), live.pixels,
                 std::move(live_classes));
}

// A reload (or roll back) that makes the canary's or the shadow's version
// live has promoted it: all requests now go to the live model, and the
// shadow would only compare the live model with itself.
void Server::EventLoop::retire_promoted_candidates(const ServingModel& live) {
  if (canary_ && canary_->version == live.version) {
    log_event({{"event", "canary_promoted"}, {"version", std::to_string(live.version)}, {"path", live.path}});
    canary_.reset();
    stats.canary_version = -1;
  }
  if (shadow_ && !shadow_->retired() && shadow_->model().version == live.version) {
    log_event({{"event", "shadow_promoted"}, {"version", std::to_string(live.version)}, {"path", live.path}});
    shadow_->retire();
  }
}

}  // namespace gc::serve
