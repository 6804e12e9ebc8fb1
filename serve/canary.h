// Canary and shadow sampling: which requests a canary model answers, and
// which batches the shadow model also runs. Both are decided by a hash of a
// number the server already has (a PREDICT's request id, the count of
// batches run), so the share is deterministic and spread evenly over
// consecutive numbers; docs/SERVING.md ("Canary and shadow models").
#pragma once

#include <cstdint>

namespace gc::serve {

// splitmix64's finaliser: consecutive keys give unrelated, uniform outputs.
inline uint64_t mix64(uint64_t key) {
  key += 0x9e3779b97f4a7c15ULL;
  key = (key ^ (key >> 30)) * 0xbf58476d1ce4e5b9ULL;
  key = (key ^ (key >> 27)) * 0x94d049bb133111ebULL;
  return key ^ (key >> 31);
}

// Whether `key` falls in a sample of `percent` (0..100, in steps of 0.01)
// of all keys: its hash, reduced to 0..9999, is below percent × 100.
inline bool in_sample(uint64_t key, double percent) {
  return static_cast<double>(mix64(key) % 10000) < percent * 100;
}

}  // namespace gc::serve
