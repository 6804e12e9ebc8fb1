// The model now serving, the one before it (for roll back), and at most one
// load running on a side thread. Owned and used by the server's I/O thread;
// only the side load touches it from elsewhere, through a mutex.
#pragma once

#include "serve/model.h"

#include <array>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace gc::serve {

// A validated model and what the server needs to know about it, computed once.
struct ServingModel {
  std::shared_ptr<const InferenceModel> model;
  std::string path;
  std::array<int, 3> shape{};
  int pixels = 0;   // per image
  int classes = 0;  // logits per image
  int64_t version = 0;
};

// Runs `loader` and checks the result: sane shape and class count, and a
// forward pass on a blank image giving finite logits. Throws with the reason.
ServingModel load_and_validate(const ModelLoader& loader, const std::string& path);

class ModelRegistry {
 public:
  // Loads the first model now; throws when it cannot.
  ModelRegistry(ModelLoader loader, const std::string& initial_path);
  ~ModelRegistry();  // waits for a running load
  ModelRegistry(const ModelRegistry&) = delete;
  ModelRegistry& operator=(const ModelRegistry&) = delete;

  const ServingModel& current() const { return current_; }
  const ServingModel* previous() const { return previous_ ? &*previous_ : nullptr; }
  bool loading() const { return side_thread_.joinable(); }

  // Starts loading `path` on a side thread and returns true, or returns false
  // when a load is already running. `on_done` runs on the side thread when it
  // ends (the server uses it to wake its event loop).
  bool start_load(const std::string& path, std::function<void()> on_done);

  struct LoadOutcome {
    bool ok = false;
    bool refused = false;  // the loader threw ModelRefused (an untrusted file)
    std::string path;
    std::string error;
  };
  // If the side load has ended: joins it, makes the new model current on
  // success (the old one becomes previous) and says how it went.
  std::optional<LoadOutcome> finish_load();

  // Swaps current and previous; false when there is no previous model.
  bool roll_back();

 private:
  ModelLoader loader_;
  ServingModel current_;
  std::optional<ServingModel> previous_;
  std::thread side_thread_;
  std::mutex mutex_;  // guards the three fields below, written by the side thread
  bool side_done_ = false;
  std::optional<ServingModel> side_result_;
  LoadOutcome side_outcome_;
};

}  // namespace gc::serve
