// u8 × s8 → s32 matrix multiply for int8 inference (docs/QUANTIZATION.md):
//
//   C[i][j] = Σ_p A[i][p] · W[j][p]      A: m × k unsigned bytes (activations)
//                                        W: n × k signed bytes (weights, one row
//                                           per output channel), C: m × n int32
//
// Every path computes the exact integer sum, so all of them equal the scalar
// reference bit for bit. The weights are packed once (pack_s8_weights) into
// panels of 16 output channels, k in groups of 4 ("quads"):
//
//   panel[q·64 + 4·j + r] = W[16·panel + j][4·q + r]      (0 past n or k)
//
// which is the operand layout of vpdpbusd: one 32-bit lane holds the 4 weights
// of one output channel that meet 4 consecutive activations of one row of A.
//
// Paths, chosen at run time (active_int8_path):
//   avx512_vnni  vpdpbusd on zmm (16 output channels per instruction)
//   avx_vnni     vpdpbusd on ymm, VEX encoded (Alder Lake, Zen 5)
//   avx2         vpmaddubsw + vpmaddwd. vpmaddubsw adds two u8·s8 products
//                into an s16 with saturation: 255·127·2 = 64770 does not fit.
//                When every adjacent weight pair of the matrix keeps
//                255·(|w0| + |w1|) ≤ 32767 for same-signed pairs (true for
//                weights in [−64, 64], e.g. 7-bit quantization) one pass is
//                exact. Otherwise the kernel splits each activation into
//                a = (a & 127) + 128·(a >> 7) and multiplies both parts, whose
//                pair sums (≤ 127·128·2, ≤ 1·128·2) cannot saturate: exact at
//                twice the work.
//   scalar       the reference loop on the unpacked weights.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace gc::cpu {

enum class Int8Path { scalar = 0, avx2 = 1, avx_vnni = 2, avx512_vnni = 3 };

const char* int8_path_name(Int8Path path);
// "scalar" / "avx2" / "avxvnni" / "avx512vnni" → path; anything else → nullopt.
std::optional<Int8Path> parse_int8_path(std::string_view name);

// True when this CPU can run `path` (checked with __builtin_cpu_supports).
bool cpu_supports(Int8Path path);
// The name of the CPU feature `path` needs that this CPU lacks ("" if none).
const char* missing_feature(Int8Path path);

// The path the int8 kernels use, in order of precedence:
//   1. set_int8_override(path)
//   2. the GRADCORE_INT8 environment variable (a name above)
//   3. the best path this CPU has within the SIMD level GRADCORE_SIMD allows
//      (cpu_features.h): scalar → scalar; avx2 → avx_vnni or avx2; avx512 → any.
// Asking for a path the CPU lacks throws std::invalid_argument.
Int8Path active_int8_path();
void set_int8_override(std::optional<Int8Path> path);

// The packed weights of one layer, ready for every path.
struct PackedS8Weights {
  int n = 0, k = 0;
  int k_quads = 0;                // ⌈k / 4⌉
  std::vector<int8_t> rows;       // W as given, n × k (the scalar path)
  std::vector<int8_t> panels;     // ⌈n / 16⌉ panels of k_quads × 64 bytes
  std::vector<int32_t> row_sums;  // Σ_p W[j][p], for zero-point compensation
  bool pairs_fit_s16 = false;     // the AVX2 one-pass condition above
  int padded_k() const { return 4 * k_quads; }
};

PackedS8Weights pack_s8_weights(int n, int k, const int8_t* w);

// C = A · Wᵀ on `path`. Row i of A starts at a + i·lda and must be readable
// for padded_k() bytes (lda ≥ padded_k()); the bytes past k may hold
// anything: their weights are packed as 0. C has row stride ldc ≥ n.
void gemm_u8s8s32(Int8Path path, int m, const uint8_t* a, std::ptrdiff_t lda,
                  const PackedS8Weights& w, int32_t* c, std::ptrdiff_t ldc);
// The same on active_int8_path().
void gemm_u8s8s32(int m, const uint8_t* a, std::ptrdiff_t lda, const PackedS8Weights& w, int32_t* c,
                  std::ptrdiff_t ldc);

// The reference: plain loops, W unpacked (n × k, row stride k).
void gemm_u8s8s32_reference(int m, int n, int k, const uint8_t* a, std::ptrdiff_t lda, const int8_t* w,
                            int32_t* c, std::ptrdiff_t ldc);

}  // namespace gc::cpu
