#include "serve/model_registry.h"

#include <cmath>
#include <stdexcept>
#include <vector>

namespace gc::serve {

ServingModel load_and_validate(const ModelLoader& loader, const std::string& path) {
  ServingModel s;
  s.model = loader(path);
  if (!s.model) throw std::runtime_error("loader returned no model for " + path);
  s.path = path;
  s.shape = s.model->input_shape();
  for (int dim : s.shape)
    if (dim < 1 || dim > 4096) throw std::runtime_error(path + ": model input shape has a dimension outside 1..4096");
  s.pixels = s.shape[0] * s.shape[1] * s.shape[2];
  s.classes = static_cast<int>(s.model->labels().size());
  if (s.classes < 1 || s.classes > 65535) throw std::runtime_error(path + ": model has no labels, or more than 65535");
  s.version = s.model->version();

  std::vector<uint8_t> blank(s.pixels, 0);
  std::vector<float> image(s.pixels);
  std::vector<float> logits(s.classes);
  s.model->normalise(blank.data(), 1, image.data());
  s.model->forward(image.data(), 1, logits.data());
  for (float v : logits)
    if (!std::isfinite(v)) throw std::runtime_error(path + ": model gives non-finite logits for a blank image");
  return s;
}

ModelRegistry::ModelRegistry(ModelLoader loader, const std::string& initial_path)
    : loader_(std::move(loader)), current_(load_and_validate(loader_, initial_path)) {}

ModelRegistry::~ModelRegistry() {
  if (side_thread_.joinable()) side_thread_.join();
}

bool ModelRegistry::start_load(const std::string& path, std::function<void()> on_done) {
  if (side_thread_.joinable()) return false;
  {
    std::lock_guard lock(mutex_);
    side_done_ = false;
    side_result_.reset();
    side_outcome_ = {};
  }
  side_thread_ = std::thread([this, path, on_done = std::move(on_done)] {
    LoadOutcome outcome;
    outcome.path = path;
    std::optional<ServingModel> result;
    try {
      result = load_and_validate(loader_, path);
      outcome.ok = true;
    } catch (const ModelRefused& e) {
      outcome.refused = true;
      outcome.error = e.what();
    } catch (const std::exception& e) {
      outcome.error = e.what();
    } catch (...) {
      outcome.error = "unknown error while loading";
    }
    {
      std::lock_guard lock(mutex_);
      side_result_ = std::move(result);
      side_outcome_ = std::move(outcome);
      side_done_ = true;
    }
    on_done();
  });
  return true;
}

std::optional<ModelRegistry::LoadOutcome> ModelRegistry::finish_load() {
  if (!side_thread_.joinable()) return std::nullopt;
  {
    std::lock_guard lock(mutex_);
    if (!side_done_) return std::nullopt;
  }
  side_thread_.join();
  if (side_result_) {
    previous_ = std::move(current_);
    current_ = std::move(*side_result_);
    side_result_.reset();
  }
  return side_outcome_;
}

bool ModelRegistry::roll_back() {
  if (!previous_) return false;
  std::swap(current_, *previous_);
  return true;
}

}  // namespace gc::serve
