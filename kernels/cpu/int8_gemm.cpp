// The int8 GEMM driver: path choice, weight packing, the reference loop, and
// the tiling that feeds the micro-kernels (int8_gemm_kernel.h).
//
// C is cut into tiles of mr rows × 16 output channels; the tile's rows of A
// (mr × padded_k bytes, L1-resident) meet every weight panel in turn. Tiles
// at the bottom or right edge go through a padded copy of A and of C, so the
// micro-kernels only ever see full tiles. Row tiles are split among OpenMP
// threads when the call is not already inside a parallel region; integer sums
// make the result independent of the split.
#include "kernels/cpu/int8_gemm.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/int8_gemm_kernel.h"

namespace gc::cpu {

using int8_detail::kPanelQuadBytes;
using int8_detail::kPanelWidth;
using int8_detail::MicroKernel;

const char* int8_path_name(Int8Path path) {
  switch (path) {
    case Int8Path::avx512_vnni: return "avx512vnni";
    case Int8Path::avx_vnni: return "avxvnni";
    case Int8Path::avx2: return "avx2";
    case Int8Path::scalar: return "scalar";
  }
  return "unknown";
}

std::optional<Int8Path> parse_int8_path(std::string_view name) {
  for (Int8Path p : {Int8Path::avx512_vnni, Int8Path::avx_vnni, Int8Path::avx2, Int8Path::scalar})
    if (name == int8_path_name(p)) return p;
  return std::nullopt;
}

const char* missing_feature(Int8Path path) {
  switch (path) {
    case Int8Path::avx512_vnni:
      if (!__builtin_cpu_supports("avx512f")) return "avx512f";
      if (!__builtin_cpu_supports("avx512bw")) return "avx512bw";
      if (!__builtin_cpu_supports("avx512vnni")) return "avx512vnni";
      return "";
    case Int8Path::avx_vnni:
      if (!__builtin_cpu_supports("avx2")) return "avx2";
      if (!__builtin_cpu_supports("avxvnni")) return "avxvnni";
      return "";
    case Int8Path::avx2: return __builtin_cpu_supports("avx2") ? "" : "avx2";
    case Int8Path::scalar: return "";
  }
  return "unknown path";
}

bool cpu_supports(Int8Path path) { return missing_feature(path)[0] == '\0'; }

static Int8Path best_path_within(SimdLevel level) {
  if (level == SimdLevel::avx512 && cpu_supports(Int8Path::avx512_vnni)) return Int8Path::avx512_vnni;
  if (level != SimdLevel::scalar && cpu_supports(Int8Path::avx_vnni)) return Int8Path::avx_vnni;
  if (level != SimdLevel::scalar && cpu_supports(Int8Path::avx2)) return Int8Path::avx2;
  return Int8Path::scalar;
}

static Int8Path checked(Int8Path path, const std::string& source) {
  if (!cpu_supports(path))
    throw std::invalid_argument(source + " asks for int8 path '" + int8_path_name(path) +
                                "' but this CPU lacks " + missing_feature(path));
  return path;
}

static std::atomic<int> int8_override{-1};

Int8Path active_int8_path() {
  const int forced = int8_override.load(std::memory_order_relaxed);
  if (forced >= 0) return static_cast<Int8Path>(forced);
  static const std::string env = [] {
    const char* value = std::getenv("GRADCORE_INT8");
    return std::string(value ? value : "");
  }();
  if (env.empty()) return best_path_within(active_simd_level());
  const std::optional<Int8Path> path = parse_int8_path(env);
  if (!path)
    throw std::invalid_argument("GRADCORE_INT8='" + env + "' is not one of avx512vnni, avxvnni, avx2, scalar");
  return checked(*path, "GRADCORE_INT8");
}

void set_int8_override(std::optional<Int8Path> path) {
  int8_override.store(path ? static_cast<int>(checked(*path, "set_int8_override")) : -1,
                      std::memory_order_relaxed);
}

// vpmaddubsw adds x0·w0 + x1·w1 with x ∈ [0, 255]: the sum is extreme when
// both x are 255 under weights of one sign, so a pair is safe when the
// positive and the negative weights each sum to at most 32767 / 255.
static bool pair_fits_s16(int w0, int w1) {
  const int positive = std::max(w0, 0) + std::max(w1, 0);
  const int negative = std::min(w0, 0) + std::min(w1, 0);
  return 255 * positive <= 32767 && 255 * negative >= -32768;
}

PackedS8Weights pack_s8_weights(int n, int k, const int8_t* w) {
  if (n < 0 || k < 0) throw std::invalid_argument("pack_s8_weights: negative size");
  PackedS8Weights p;
  p.n = n;
  p.k = k;
  p.k_quads = (k + 3) / 4;
  p.rows.assign(w, w + std::size_t(n) * k);
  const int panels = (n + kPanelWidth - 1) / kPanelWidth;
  p.panels.assign(std::size_t(panels) * p.k_quads * kPanelQuadBytes, 0);
  p.row_sums.assign(n, 0);
  p.pairs_fit_s16 = true;
  for (int j = 0; j < n; ++j) {
    int8_t* panel = p.panels.data() + std::size_t(j / kPanelWidth) * p.k_quads * kPanelQuadBytes;
    for (int q = 0; q < p.k_quads; ++q) {
      for (int r = 0; r < 4; ++r) {
        const int col = 4 * q + r;
        const int8_t value = col < k ? w[std::size_t(j) * k + col] : 0;
        panel[q * kPanelQuadBytes + 4 * (j % kPanelWidth) + r] = value;
        p.row_sums[j] += value;
      }
      for (int r = 0; r < 4; r += 2) {
        const int8_t* pair = panel + q * kPanelQuadBytes + 4 * (j % kPanelWidth) + r;
        p.pairs_fit_s16 = p.pairs_fit_s16 && pair_fits_s16(pair[0], pair[1]);
      }
    }
  }
  return p;
}

void gemm_u8s8s32_reference(int m, int n, int k, const uint8_t* a, std::ptrdiff_t lda, const int8_t* w,
                            int32_t* c, std::ptrdiff_t ldc) {
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      int32_t sum = 0;
      for (int p = 0; p < k; ++p) sum += int32_t{a[i * lda + p]} * int32_t{w[std::size_t(j) * k + p]};
      c[i * ldc + j] = sum;
    }
  }
}

static const MicroKernel& micro_kernel(Int8Path path) {
  switch (path) {
    case Int8Path::avx512_vnni: return int8_detail::micro_kernel_avx512_vnni();
    case Int8Path::avx_vnni: return int8_detail::micro_kernel_avx_vnni();
    default: return int8_detail::micro_kernel_avx2();
  }
}

// Rows [i0, i0 + rows) of C, every output channel.
static void row_tile(const MicroKernel& uk, int8_detail::TileFn tile, int i0, int rows, const uint8_t* a,
                     std::ptrdiff_t lda, const PackedS8Weights& w, int32_t* c, std::ptrdiff_t ldc) {
  constexpr int kMaxRows = 16;
  const int kp = w.padded_k();
  // A partial row tile: the missing rows read zeros from a padded copy.
  thread_local std::vector<uint8_t> a_pad;
  const uint8_t* a_tile = a + i0 * lda;
  std::ptrdiff_t a_stride = lda;
  if (rows < uk.mr) {
    a_pad.assign(std::size_t(uk.mr) * kp, 0);
    for (int i = 0; i < rows; ++i) std::memcpy(a_pad.data() + i * kp, a_tile + i * lda, kp);
    a_tile = a_pad.data();
    a_stride = kp;
  }
  int32_t c_pad[kMaxRows * kPanelWidth];
  for (int j0 = 0; j0 < w.n; j0 += kPanelWidth) {
    const int8_t* panel = w.panels.data() + std::size_t(j0 / kPanelWidth) * w.k_quads * kPanelQuadBytes;
    const int cols = std::min(kPanelWidth, w.n - j0);
    int32_t* c_tile = c + i0 * ldc + j0;
    if (rows == uk.mr && cols == kPanelWidth) {
      tile(w.k_quads, a_tile, a_stride, panel, c_tile, ldc);
      continue;
    }
    tile(w.k_quads, a_tile, a_stride, panel, c_pad, kPanelWidth);
    for (int i = 0; i < rows; ++i) std::memcpy(c_tile + i * ldc, c_pad + i * kPanelWidth, cols * sizeof(int32_t));
  }
}

void gemm_u8s8s32(Int8Path path, int m, const uint8_t* a, std::ptrdiff_t lda, const PackedS8Weights& w,
                  int32_t* c, std::ptrdiff_t ldc) {
  if (m <= 0 || w.n == 0) return;
  if (lda < w.padded_k() || ldc < w.n)
    throw std::invalid_argument("gemm_u8s8s32: lda " + std::to_string(lda) + " < padded k " +
                                std::to_string(w.padded_k()) + " or ldc " + std::to_string(ldc) + " < n " +
                                std::to_string(w.n));
  if (path == Int8Path::scalar) return gemm_u8s8s32_reference(m, w.n, w.k, a, lda, w.rows.data(), c, ldc);
  checked(path, "gemm_u8s8s32");
  const MicroKernel& uk = micro_kernel(path);
  const int8_detail::TileFn tile = w.pairs_fit_s16 ? uk.compute_fast : uk.compute;
  const int tiles = (m + uk.mr - 1) / uk.mr;
  // A fork/join costs a few microseconds, far more on a loaded machine: only
  // worth it from 4M multiply-adds (the float plan's bound, infer/plan.h).
  const double ops = double(m) * w.n * w.k;
  const bool parallel = !omp_in_parallel() && omp_get_max_threads() > 1 && ops > 4.0e6 && tiles > 1;
#pragma omp parallel for schedule(static) if (parallel)
  for (int t = 0; t < tiles; ++t) {
    const int i0 = t * uk.mr;
    row_tile(uk, tile, i0, std::min(uk.mr, m - i0), a, lda, w, c, ldc);
  }
}

void gemm_u8s8s32(int m, const uint8_t* a, std::ptrdiff_t lda, const PackedS8Weights& w, int32_t* c,
                  std::ptrdiff_t ldc) {
  gemm_u8s8s32(active_int8_path(), m, a, lda, w, c, ldc);
}

}  // namespace gc::cpu
