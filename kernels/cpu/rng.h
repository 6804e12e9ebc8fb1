// Portable random numbers: the same bits on every platform, compiler and
// standard library (std::mt19937 is portable, but std::*_distribution is not).
//
//   Rng             xoshiro256** (Blackman & Vigna 2018), seeded with splitmix64.
//                   Sequential streams: weight init, data shuffling.
//   counter_bits    splitmix64's output for (seed, index): random access, so a
//                   kernel can split its range over any number of threads and
//                   still draw the same number for element i (dropout masks).
//
// Integers and uniforms are bit-exact everywhere. normal() also goes through
// std::log / std::cos / std::sqrt, which glibc rounds correctly in practice
// but the C++ standard does not pin down.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <stdexcept>
#include <utility>

namespace gc::cpu {

// splitmix64 (Steele, Lea & Flood 2014): a Weyl sequence through a bijective
// 64-bit mixer. splitmix64_mix is the mixer alone.
inline constexpr uint64_t kGoldenGamma = 0x9e3779b97f4a7c15ull;

inline constexpr uint64_t splitmix64_mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

inline constexpr uint64_t splitmix64_next(uint64_t& state) {
  state += kGoldenGamma;
  return splitmix64_mix(state);
}

// The index-th output of a splitmix64 stream whose start is derived from seed.
// Hashing the seed first keeps streams of nearby seeds from being shifted
// copies of each other.
// Loops over many indices compute the key once: counter_bits(seed, i) ==
// counter_bits_from_key(counter_key(seed), i).
inline constexpr uint64_t counter_key(uint64_t seed) { return splitmix64_mix(seed); }
inline constexpr uint64_t counter_bits_from_key(uint64_t key, uint64_t index) {
  return splitmix64_mix(key + (index + 1) * kGoldenGamma);
}
inline constexpr uint64_t counter_bits(uint64_t seed, uint64_t index) {
  return counter_bits_from_key(counter_key(seed), index);
}

// Uniform in [0, 1) from the top bits: exact multiples of 2^-24 (float) or
// 2^-53 (double), so the result never rounds up to 1.
// (Converting through a signed type keeps this one instruction on x86-64;
// unsigned 64-bit to float needs a branchy sequence.)
inline constexpr float uniform_float_from_bits(uint64_t bits) {
  return static_cast<float>(static_cast<int32_t>(bits >> 40)) * 0x1.0p-24f;
}
inline constexpr double uniform_double_from_bits(uint64_t bits) {
  return static_cast<double>(static_cast<int64_t>(bits >> 11)) * 0x1.0p-53;
}

// The generator's whole state: save it in a checkpoint, restore it to continue
// the same stream.
struct RngState {
  std::array<uint64_t, 4> words;
};

class Rng {
 public:
  explicit Rng(uint64_t seed) {
    uint64_t sm = seed;
    // splitmix64_mix is a bijection and its four inputs differ, so at most one
    // word is zero: never the all-zero state xoshiro cannot leave.
    for (uint64_t& w : s_) w = splitmix64_next(sm);
  }

  RngState state() const { return RngState{s_}; }
  void set_state(const RngState& st) {
    if (st.words[0] == 0 && st.words[1] == 0 && st.words[2] == 0 && st.words[3] == 0)
      throw std::invalid_argument("Rng::set_state: all-zero state is not a valid xoshiro256** state");
    s_ = st.words;
  }

  // xoshiro256**: scrambled output of a 256-bit xor/shift/rotate linear engine.
  uint64_t next_u64() {
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

  float uniform_float() { return uniform_float_from_bits(next_u64()); }
  double uniform_double() { return uniform_double_from_bits(next_u64()); }
  // Uniform in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform_double(); }

  // Unbiased integer in [0, bound): reject the lowest (2^64 mod bound) values
  // so every residue is hit by the same number of 64-bit draws.
  uint64_t below(uint64_t bound) {
    if (bound == 0) throw std::invalid_argument("Rng::below: bound must be positive");
    const uint64_t threshold = (0 - bound) % bound;  // == 2^64 mod bound
    for (;;) {
      const uint64_t r = next_u64();
      if (r >= threshold) return r % bound;
    }
  }

  // Standard normal by Box–Muller: z = sqrt(−2 ln u1) · cos(2π u2), u1 in (0, 1].
  // The sine partner is not cached, so the state stays four words.
  double normal() {
    const double u1 = 1.0 - uniform_double();
    const double u2 = uniform_double();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }
  double normal(double mean, double stddev) { return mean + stddev * normal(); }

 private:
  static constexpr uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::array<uint64_t, 4> s_{};
};

// Fisher–Yates shuffle (Durstenfeld's in-place form): every permutation equally likely.
template <typename T>
void shuffle(int64_t n, T* data, Rng& rng) {
  if (n < 0) throw std::invalid_argument("shuffle: negative length");
  for (int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(rng.below(static_cast<uint64_t>(i) + 1));
    std::swap(data[i], data[j]);
  }
}

}  // namespace gc::cpu
