// Which SIMD path the CPU kernels use, decided at run time so that a binary
// built with AVX-512 code inside still runs on a CPU without it.
//
// The active level is, in order of precedence:
//   1. set_simd_override(level)      (C++ API, for tests and benchmarks)
//   2. the GRADCORE_SIMD environment variable: avx512 | avx2 | scalar
//   3. the best level this CPU supports.
// Asking for a level the CPU lacks is an error (std::invalid_argument), never
// an illegal-instruction crash.
#pragma once

#include <optional>
#include <string_view>

namespace gc::cpu {

enum class SimdLevel { scalar = 0, avx2 = 1, avx512 = 2 };

const char* simd_name(SimdLevel level);

// "avx512" / "avx2" / "scalar" → level; anything else → nullopt.
std::optional<SimdLevel> parse_simd_level(std::string_view name);

// True when this CPU (and OS) can run the code compiled for `level`.
bool cpu_supports(SimdLevel level);

// The best level this CPU supports.
SimdLevel detected_simd_level();

// The level the kernels use now (see precedence above).
SimdLevel active_simd_level();

// Forces a level for this process (nullopt restores the default choice).
// Throws std::invalid_argument when the CPU cannot run `level`.
void set_simd_override(std::optional<SimdLevel> level);

}  // namespace gc::cpu
