#include "kernels/cpu/cpu_features.h"

#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace gc::cpu {

const char* simd_name(SimdLevel level) {
  switch (level) {
    case SimdLevel::avx512: return "avx512";
    case SimdLevel::avx2: return "avx2";
    case SimdLevel::scalar: return "scalar";
  }
  return "unknown";
}

std::optional<SimdLevel> parse_simd_level(std::string_view name) {
  for (SimdLevel level : {SimdLevel::avx512, SimdLevel::avx2, SimdLevel::scalar}) {
    if (name == simd_name(level)) return level;
  }
  return std::nullopt;
}

// __builtin_cpu_supports also checks that the OS saves the wider register
// state (XCR0), so "avx512f" here means zmm registers are usable. Each level
// requires every extension its translation units are compiled with.
bool cpu_supports(SimdLevel level) {
  switch (level) {
    case SimdLevel::avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("avx512dq") && cpu_supports(SimdLevel::avx2);
    case SimdLevel::avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case SimdLevel::scalar:
      return true;
  }
  return false;
}

SimdLevel detected_simd_level() {
  static const SimdLevel best = [] {
    if (cpu_supports(SimdLevel::avx512)) return SimdLevel::avx512;
    if (cpu_supports(SimdLevel::avx2)) return SimdLevel::avx2;
    return SimdLevel::scalar;
  }();
  return best;
}

static SimdLevel checked(SimdLevel level, const std::string& source) {
  if (!cpu_supports(level)) {
    throw std::invalid_argument(source + " asks for SIMD level '" + simd_name(level) +
                                "' but this CPU supports at most '" +
                                simd_name(detected_simd_level()) + "'");
  }
  return level;
}

// The environment is read once; a bad value is reported on every call so the
// error cannot be missed.
static SimdLevel default_level() {
  static const std::string env = [] {
    const char* value = std::getenv("GRADCORE_SIMD");
    return std::string(value ? value : "");
  }();
  if (env.empty()) return detected_simd_level();
  std::optional<SimdLevel> level = parse_simd_level(env);
  if (!level) {
    throw std::invalid_argument("GRADCORE_SIMD='" + env +
                                "' is not one of avx512, avx2, scalar");
  }
  return checked(*level, "GRADCORE_SIMD");
}

// -1: no override; otherwise a SimdLevel value.
static std::atomic<int> override_level{-1};

SimdLevel active_simd_level() {
  int forced = override_level.load(std::memory_order_relaxed);
  if (forced >= 0) return static_cast<SimdLevel>(forced);
  return default_level();
}

void set_simd_override(std::optional<SimdLevel> level) {
  if (!level) {
    override_level.store(-1, std::memory_order_relaxed);
    return;
  }
  override_level.store(static_cast<int>(checked(*level, "set_simd_override")),
                       std::memory_order_relaxed);
}

}  // namespace gc::cpu
