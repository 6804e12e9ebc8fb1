#include "serve/testing/linear_model.h"

#include "serve/protocol.h"

#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace gc::serve::testing {

namespace {
constexpr char kFileMagic[8] = {'G', 'C', 'L', 'I', 'N', 'v', '0', '1'};
constexpr size_t kParameterCount = LinearTestModel::kClasses * (LinearTestModel::kPixels + 1);

// splitmix64: a tiny, well-mixed generator, so the weights are the same everywhere.
float next_weight(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<float>(z >> 40) / static_cast<float>(1ull << 24) * 0.2f - 0.1f;  // [-0.1, 0.1)
}

uint32_t fnv1a(const uint8_t* data, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; ++i) h = (h ^ data[i]) * 16777619u;
  return h;
}
}  // namespace

LinearTestModel::LinearTestModel(int64_t version, uint64_t seed) : version_(version), seed_(seed) {
  uint64_t state = seed;
  weights_.resize(kClasses * kPixels);
  bias_.resize(kClasses);
  for (float& w : weights_) w = next_weight(state);
  for (float& b : bias_) b = next_weight(state);
}

LinearTestModel::LinearTestModel(int64_t version, uint64_t seed, std::vector<float> weights,
                                 std::vector<float> bias)
    : version_(version), seed_(seed), weights_(std::move(weights)), bias_(std::move(bias)) {}

std::vector<std::string> LinearTestModel::labels() const {
  std::vector<std::string> names;
  for (int c = 0; c < kClasses; ++c) names.push_back(std::to_string(c));
  return names;
}

void LinearTestModel::normalise(const uint8_t* pixels, int n, float* out) const {
  for (int i = 0; i < n * kPixels; ++i) out[i] = (pixels[i] / 255.0f - 0.1307f) / 0.3081f;
}

void LinearTestModel::forward(const float* images, int n, float* logits) const {
  for (int i = 0; i < n; ++i) {
    const float* x = images + static_cast<size_t>(i) * kPixels;
    for (int c = 0; c < kClasses; ++c) {
      const float* w = weights_.data() + static_cast<size_t>(c) * kPixels;
      float sum = bias_[c];
      for (int p = 0; p < kPixels; ++p) sum += w[p] * x[p];
      logits[i * kClasses + c] = sum;
    }
  }
}

void LinearTestModel::save(const std::string& path) const {
  std::vector<uint8_t> bytes(std::begin(kFileMagic), std::end(kFileMagic));
  protocol::ByteWriter w(bytes);
  w.i64(version_);
  w.u64(seed_);
  for (float v : weights_) w.f32(v);
  for (float v : bias_) w.f32(v);
  w.u32(fnv1a(bytes.data(), bytes.size()));
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

void save_linear_test_model(const std::string& path, int64_t version, uint64_t seed) {
  LinearTestModel(version, seed).save(path);
}

std::shared_ptr<const InferenceModel> load_linear_test_model(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t expected = sizeof kFileMagic + 16 + kParameterCount * 4 + 4;
  if (bytes.size() != expected)
    throw std::runtime_error(path + ": " + std::to_string(bytes.size()) + " bytes, a test model has " +
                             std::to_string(expected));
  if (std::memcmp(bytes.data(), kFileMagic, sizeof kFileMagic) != 0)
    throw std::runtime_error(path + ": not a linear test model");
  protocol::ByteReader r(std::span<const uint8_t>(bytes).subspan(sizeof kFileMagic));
  int64_t version = r.i64();
  uint64_t seed = r.u64();
  std::vector<float> weights(LinearTestModel::kClasses * LinearTestModel::kPixels);
  std::vector<float> bias(LinearTestModel::kClasses);
  for (float& v : weights) v = r.f32();
  for (float& v : bias) v = r.f32();
  if (r.u32() != fnv1a(bytes.data(), bytes.size() - 4)) throw std::runtime_error(path + ": checksum mismatch");
  return std::shared_ptr<const InferenceModel>(
      new LinearTestModel(version, seed, std::move(weights), std::move(bias)));
}

}  // namespace gc::serve::testing
