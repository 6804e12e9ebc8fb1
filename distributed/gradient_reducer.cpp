#include "distributed/gradient_reducer.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>

namespace gc::distributed {

struct Bucket {
  std::vector<size_t> params;   // indices into State::params
  std::vector<size_t> offsets;  // of each in `values`
  std::vector<float> values;
  size_t ready = 0;
  int handle = -1;  // the sum in flight, or -1
};

struct GradientReducer::State {
  Communicator* communicator = nullptr;  // null once the reducer is gone
  std::vector<ParamRef> params;
  std::vector<Bucket> buckets;
  std::vector<size_t> bucket_of;  // param → bucket
  std::vector<size_t> offset_of;  // param → offset in its bucket
  std::vector<bool> got;          // param's gradient copied this step
  double exposed_seconds = 0;

  void start(Bucket& b) {
    b.handle = communicator->start_sum(b.values.data(), b.values.size());
  }

  // The hook: parameter i's gradient of this step is final.
  void gradient_ready(size_t i, const Tensor& grad) {
    if (!communicator) return;
    Bucket& b = buckets[bucket_of[i]];
    const Tensor host = grad.device() == Device::CPU ? grad : grad.to(Device::CPU);
    std::copy_n(host.data<float>(), host.numel(), b.values.begin() + offset_of[i]);
    if (!got[i]) {
      got[i] = true;
      if (++b.ready == b.params.size()) start(b);
    }
    communicator->poll();
  }
};

GradientReducer::GradientReducer(Communicator& communicator, std::vector<ParamRef> params, size_t bucket_floats)
    : state_(std::make_shared<State>()) {
  State& s = *state_;
  s.communicator = &communicator;
  s.params = std::move(params);
  s.bucket_of.resize(s.params.size());
  s.offset_of.resize(s.params.size());
  s.got.assign(s.params.size(), false);
  for (size_t k = s.params.size(); k-- > 0;) {
    const Tensor& t = *s.params[k].tensor;
    if (t.dtype() != DType::F32)
      throw std::invalid_argument("--distributed: parameter " + s.params[k].name + " is not float32");
    if (s.buckets.empty() || s.buckets.back().values.size() >= bucket_floats) s.buckets.emplace_back();
    Bucket& b = s.buckets.back();
    s.bucket_of[k] = s.buckets.size() - 1;
    s.offset_of[k] = b.values.size();
    b.params.push_back(k);
    b.offsets.push_back(b.values.size());
    b.values.resize(b.values.size() + static_cast<size_t>(t.numel()));
  }
  for (size_t k = 0; k < s.params.size(); ++k) {
    std::weak_ptr<State> weak = state_;
    s.params[k].tensor->register_hook([weak, k](Tensor& grad) {
      if (auto state = weak.lock()) state->gradient_ready(k, grad);
    });
  }
}

GradientReducer::~GradientReducer() { state_->communicator = nullptr; }

void GradientReducer::finish() {
  State& s = *state_;
  const auto begin = std::chrono::steady_clock::now();
  // A parameter backward did not reach adds zeros; then every bucket is sent,
  // in the same order on every rank.
  for (Bucket& b : s.buckets) {
    if (b.handle >= 0) continue;
    for (size_t j = 0; j < b.params.size(); ++j) {
      const size_t k = b.params[j];
      if (s.got[k]) continue;
      std::fill_n(b.values.begin() + b.offsets[j], s.params[k].tensor->numel(), 0.0f);
    }
    s.start(b);
  }
  for (Bucket& b : s.buckets) {
    s.communicator->wait(b.handle);
    b.handle = -1;
    b.ready = 0;
    for (size_t j = 0; j < b.params.size(); ++j) {
      Tensor& w = *s.params[b.params[j]].tensor;
      Tensor sum = Tensor::empty(w.shape());
      std::copy_n(b.values.begin() + b.offsets[j], sum.numel(), sum.data<float>());
      if (w.device() != Device::CPU) sum = sum.to(w.device());
      w.zero_grad();
      w.impl().grad = sum.impl_ptr();
    }
  }
  std::fill(s.got.begin(), s.got.end(), false);
  s.exposed_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
}

size_t GradientReducer::buckets() const { return state_->buckets.size(); }

double GradientReducer::exposed_seconds() const { return state_->exposed_seconds; }

}  // namespace gc::distributed
