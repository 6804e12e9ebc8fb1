// The data pipeline's random numbers: xoshiro256** (Blackman & Vigna) seeded
// through splitmix64, and a Fisher–Yates shuffle on top of it. Written out by
// hand because std::shuffle and the std::*_distribution classes give different
// sequences on different standard libraries; these give the same bits
// everywhere, so a seed names one shuffle order on every machine.
#pragma once

#include <array>
#include <cstdint>
#include <utility>

namespace gc::data {

// One step of splitmix64: advances the 64-bit state by the golden-ratio
// increment and returns the mixed value.
inline uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

class Xoshiro256 {
 public:
  using Words = std::array<uint64_t, 4>;

  explicit Xoshiro256(uint64_t seed) {
    // splitmix64 outputs four distinct values from one seed, so the state is
    // never all zero (the one state xoshiro cannot leave).
    for (uint64_t& word : s_) word = splitmix64(seed);
  }

  // The whole generator state: save it to resume the same stream later.
  const Words& words() const { return s_; }
  void set_words(const Words& words) { s_ = words; }

  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, 1) with 24 random bits: exact in float, never rounds to 1.
  float uniform01() { return static_cast<float>(next() >> 40) * 0x1.0p-24f; }

  // Uniform in [-limit, limit).
  float symmetric(float limit) { return limit * (2.0f * uniform01() - 1.0f); }

  // Unbiased integer in [0, bound), bound > 0: draws below 2^64 mod bound are
  // rejected so every residue is equally likely.
  uint64_t below(uint64_t bound) {
    const uint64_t reject_under = (0 - bound) % bound;
    for (;;) {
      const uint64_t r = next();
      if (r >= reject_under) return r % bound;
    }
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  Words s_{};
};

// Fisher–Yates (Durstenfeld): every permutation of the n items equally likely.
template <typename T>
void fisher_yates_shuffle(T* items, int64_t n, Xoshiro256& rng) {
  for (int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(rng.below(static_cast<uint64_t>(i) + 1));
    std::swap(items[i], items[j]);
  }
}

}  // namespace gc::data
