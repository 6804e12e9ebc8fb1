// conv2d forward and backward by im2col + GEMM; the method and threading are
// described in conv2d.h.
#include "kernels/cpu/conv2d.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cpu/conv2d_winograd.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/im2col.h"
#include "kernels/cpu/image_chunks.h"

namespace gc::cpu {
namespace {

using idx = std::ptrdiff_t;
using conv_detail::for_image_chunks;
using conv_detail::kParallelMinMacs;
using conv_detail::scratch;

// Images are grouped so each GEMM has at least about this many columns
// (g·oh·ow): the GEMM packs W again on every call, so more columns per call
// amortise that, at the price of gathering dy / scattering y for g > 1.
// Per-pass bench at batch 128, one thread: 256 gave the 3-layer fwd + bwd
// sum 5-8% below 128, and 512 was no better than 256.
constexpr idx kTargetColumns = 256;

// 3×3 stride-1 layers take the Winograd path (conv2d_winograd.h) when
//  - both channel counts are at least 8: below that the GEMMs' k (c_in) or
//    m (c_out) is too short to pay for the transforms;
//  - the batch has enough images and output tiles for the pass. SIMD lanes
//    carry 8 images each, so a smaller batch computes empty lanes; the
//    forward pass's GEMMs run the micro-kernel on operands packed once,
//    the backward passes' GEMMs pack per block, so backward needs more.
// Measured crossovers, 2 threads (AVX2, Zen 1), im2col vs Winograd:
//  forward, the seed CNN's layer 1 (9 F(4×4) tiles an image): 8 images
//  710 vs 572 µs, 6 images 524 vs 583; layer 2 (one tile): 12 images 226
//  vs 187 µs, 8 images 168 vs 180;
//  backward (both gradients): layer 2, 32 images 1113 vs 1037 µs, 16 images
//  762 vs 1037; layer 1, 16 images 1743 vs 1602, 8 images 1387 vs 1557.
// Results therefore depend (to rounding) on the batch size as well as on
// the thread count.
constexpr int kWinogradMinChannels = 8;
struct WinogradMinimum {
  int images;
  long long tiles;
};
constexpr WinogradMinimum kWinogradForwardMin{8, 12}, kWinogradBackwardMin{16, 32};

int conv_out_size(int size, int pad, int dil, int k, int stride) {
  if (stride < 1) return 0;
  const long long span = (long long)size + 2LL * pad - (long long)dil * (k - 1) - 1;
  if (span < 0) return 0;
  const long long out = span / stride + 1;
  return out > INT_MAX ? 0 : int(out);
}

std::string shape_text(const Conv2dShape& s) {
  return "n=" + std::to_string(s.n) + " c_in=" + std::to_string(s.c_in) + " h=" +
         std::to_string(s.h) + " w=" + std::to_string(s.w) + " c_out=" + std::to_string(s.c_out) +
         " kernel=" + std::to_string(s.kh) + "x" + std::to_string(s.kw) +
         " stride=" + std::to_string(s.stride_h) + "x" + std::to_string(s.stride_w) +
         " pad=" + std::to_string(s.pad_h) + "x" + std::to_string(s.pad_w) +
         " dilation=" + std::to_string(s.dil_h) + "x" + std::to_string(s.dil_w);
}

void require_pointer(const void* p, const char* op, const char* name) {
  if (p == nullptr) throw std::invalid_argument(std::string(op) + ": " + name + " is null");
}

struct ConvGeometry {
  idx ohw, kdim, x_image, y_image;
  double macs;  // multiply-adds of one pass
  int images_per_block;
};

ConvGeometry geometry(const Conv2dShape& s) {
  ConvGeometry g;
  g.ohw = idx(s.out_h()) * s.out_w();
  g.kdim = idx(s.c_in) * s.kh * s.kw;
  g.x_image = idx(s.c_in) * s.h * s.w;
  g.y_image = idx(s.c_out) * g.ohw;
  g.macs = double(s.n) * double(g.y_image) * double(g.kdim);
  g.images_per_block = int(std::clamp<idx>(kTargetColumns / g.ohw, 1, s.n));
  return g;
}

// dst[co][img·ohw + p] = dy[img][co][p] for the `count` images at dy.
template <typename T>
void gather_block(const T* dy, int count, int c_out, idx ohw, T* dst) {
  const idx ld = idx(count) * ohw;
  for (int img = 0; img < count; ++img)
    for (int co = 0; co < c_out; ++co)
      std::copy_n(dy + (idx(img) * c_out + co) * ohw, ohw, dst + co * ld + img * ohw);
}

// Σ plane[0, count) with 8 independent lanes, so the loop vectorises
// without reassociating a single running sum; lanes added in a fixed order.
template <typename T>
T plane_sum(const T* plane, idx count) {
  constexpr int kLanes = 8;
  T lane[kLanes] = {};
  idx p = 0;
  for (; p + kLanes <= count; p += kLanes)
    for (int l = 0; l < kLanes; ++l) lane[l] += plane[p + l];
  for (; p < count; ++p) lane[p % kLanes] += plane[p];
  T sum = 0;
  for (int l = 0; l < kLanes; ++l) sum += lane[l];
  return sum;
}

// The shape and pointer checks of both forward passes.
void check_forward(const Conv2dShape& s, const void* x, const void* w, const void* y, const char* op) {
  validate_conv2d_shape(s, op);
  require_pointer(x, op, "x");
  require_pointer(w, op, "weight");
  require_pointer(y, op, "y");
}

}  // namespace

// Relaxed: the setting is made before the work starts (conv2d.h).
static std::atomic<ConvAlgo> g_conv_algo{ConvAlgo::automatic};

void set_conv_algo(ConvAlgo algo) { g_conv_algo.store(algo, std::memory_order_relaxed); }
ConvAlgo conv_algo() { return g_conv_algo.load(std::memory_order_relaxed); }

ConvAlgo parse_conv_algo(const std::string& name) {
  if (name == "auto") return ConvAlgo::automatic;
  if (name == "direct") return ConvAlgo::direct;
  if (name == "winograd") return ConvAlgo::winograd;
  throw std::invalid_argument("unknown convolution method '" + name + "' (expected auto, direct or winograd)");
}

const char* conv_algo_name(ConvAlgo algo) {
  switch (algo) {
    case ConvAlgo::automatic: return "auto";
    case ConvAlgo::direct: return "direct";
    case ConvAlgo::winograd: return "winograd";
  }
  return "?";
}

bool conv2d_uses_winograd(const Conv2dShape& s, ConvPass pass) {
  const ConvAlgo algo = conv_algo();
  if (algo == ConvAlgo::direct) return false;
  if (algo == ConvAlgo::winograd) return winograd_supports(s);
  const WinogradMinimum least = pass == ConvPass::forward ? kWinogradForwardMin : kWinogradBackwardMin;
  if (!winograd_supports(s) || s.c_in < kWinogradMinChannels || s.c_out < kWinogradMinChannels ||
      s.n < least.images)
    return false;
  return winograd_tiles(s, winograd_tile_for(s)) >= least.tiles;
}

int Conv2dShape::out_h() const { return conv_out_size(h, pad_h, dil_h, kh, stride_h); }
int Conv2dShape::out_w() const { return conv_out_size(w, pad_w, dil_w, kw, stride_w); }

void validate_conv2d_shape(const Conv2dShape& s, const char* op) {
  auto fail = [&](const std::string& why) {
    throw std::invalid_argument(std::string(op) + ": " + why + " (" + shape_text(s) + ")");
  };
  if (s.n < 1 || s.c_in < 1 || s.h < 1 || s.w < 1 || s.c_out < 1 || s.kh < 1 || s.kw < 1)
    fail("every size must be >= 1");
  if (s.stride_h < 1 || s.stride_w < 1) fail("stride must be >= 1");
  if (s.dil_h < 1 || s.dil_w < 1) fail("dilation must be >= 1");
  if (s.pad_h < 0 || s.pad_w < 0) fail("padding must be >= 0");
  if ((long long)s.h + 2LL * s.pad_h > INT_MAX || (long long)s.w + 2LL * s.pad_w > INT_MAX)
    fail("the padded input exceeds int range");
  if (s.out_h() < 1 || s.out_w() < 1)
    fail("the dilated kernel does not fit the padded input (output would be " +
         std::to_string(s.out_h()) + "x" + std::to_string(s.out_w()) + ")");
  const long long kdim = (long long)s.c_in * s.kh * s.kw;
  const long long columns = std::max((long long)s.out_h() * s.out_w(), (long long)kTargetColumns);
  const long long c_out = s.c_out;
  if (c_out * kdim > INT_MAX || kdim * columns > INT_MAX || c_out * columns > INT_MAX)
    fail("unfolded matrix sizes exceed int range");
}

template <typename T>
void conv2d_inference_forward(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y) {
  check_forward(s, x, w, y, "conv2d_inference_forward");
  if (conv2d_uses_winograd(s, ConvPass::forward))
    return winograd_conv2d_forward(s, x, w, bias, y, winograd_inference_tile_for(s));
  conv2d_forward(s, x, w, bias, y);
}

// One image with fewer output pixels than output channels (the seed CNN's
// third conv alone: 9 pixels, 64 channels). As y = w · col, the GEMM's
// columns would be the few pixels, filling a fraction of its register tile;
// yᵀ = colᵀ · wᵀ puts the channels there instead (Zen 4, 64 → 64 channels,
// 5×5 input: 29–35 → 20 µs), and the transpose back costs ohw · c_out copies.
template <typename T>
void lone_small_image(const Conv2dShape& s, const ConvGeometry& g, const T* x, const T* w, const T* bias, T* y) {
  T* col = scratch<T, 0>(g.kdim * g.ohw);
  im2col(s, x, 1, col, g.ohw);
  T* y_t = scratch<T, 2>(g.ohw * s.c_out);
  gemm(true, true, int(g.ohw), s.c_out, int(g.kdim), T(1), col, int(g.ohw), w, int(g.kdim), T(0), y_t, s.c_out);
  for (int co = 0; co < s.c_out; ++co) {
    const T b = bias ? bias[co] : T(0);
    for (idx p = 0; p < g.ohw; ++p) y[co * g.ohw + p] = y_t[p * s.c_out + co] + b;
  }
}

// One image with at least as many output pixels as channels: the threads
// split its output rows, and each unfolds and multiplies its own rows. Left
// to the GEMM, one thread unfolds the image and the GEMM's threads then pack
// columns another core just wrote (Zen 4, seed layer 1 at batch 1, two
// threads: 85–257 → 52–73 µs, oneDNN 45–55 µs).
template <typename T>
void lone_image_by_rows(const Conv2dShape& s, const ConvGeometry& g, const T* x, const T* w, const T* bias, T* y) {
  const int ow = s.out_w();
  for_image_chunks(s.out_h(), g.macs, [&](int row_begin, int row_end, int) {
    const idx first = idx(row_begin) * ow, columns = idx(row_end - row_begin) * ow;
    T* col = scratch<T, 0>(g.kdim * columns);
    im2col_rows(s, x, row_begin, row_end, col, columns);
    gemm(false, false, s.c_out, int(columns), int(g.kdim), T(1), w, int(g.kdim), col, int(columns), T(0),
         y + first, int(g.ohw));
    if (bias)
      for (int co = 0; co < s.c_out; ++co)
        for (idx p = first; p < first + columns; ++p) y[co * g.ohw + p] += bias[co];
  });
}

template <typename T>
void conv2d_forward(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y) {
  check_forward(s, x, w, y, "conv2d_forward");
  if (conv2d_uses_winograd(s, ConvPass::forward))
    return winograd_conv2d_forward(s, x, w, bias, y, winograd_tile_for(s));
  const ConvGeometry g = geometry(s);
  if (s.n == 1)
    return g.ohw < s.c_out ? lone_small_image(s, g, x, w, bias, y) : lone_image_by_rows(s, g, x, w, bias, y);
  for_image_chunks(s.n, g.macs, [&](int begin, int end, int) {
    T* col = scratch<T, 0>(g.kdim * g.images_per_block * g.ohw);
    T* block_out = scratch<T, 1>(idx(s.c_out) * g.images_per_block * g.ohw);
    for (int i0 = begin; i0 < end; i0 += g.images_per_block) {
      const int count = std::min(g.images_per_block, end - i0);
      const idx cols = idx(count) * g.ohw;
      im2col(s, x + i0 * g.x_image, count, col, cols);
      // A single image's output is already laid out as [c_out][ohw].
      T* out = count == 1 ? y + i0 * g.y_image : block_out;
      gemm(false, false, s.c_out, int(cols), int(g.kdim), T(1), w, int(g.kdim), col, int(cols),
           T(0), out, int(cols));
      if (out != block_out && bias == nullptr) continue;
      for (int img = 0; img < count; ++img)
        for (int co = 0; co < s.c_out; ++co) {
          const T* src = out + co * cols + img * g.ohw;
          T* dst = y + (i0 + img) * g.y_image + co * g.ohw;
          const T b = bias ? bias[co] : T(0);
          for (idx p = 0; p < g.ohw; ++p) dst[p] = src[p] + b;
        }
    }
  });
}

template <typename T>
void conv2d_backward_input(const Conv2dShape& s, const T* dy, const T* w, T* dx) {
  constexpr const char* op = "conv2d_backward_input";
  validate_conv2d_shape(s, op);
  require_pointer(dy, op, "dy");
  require_pointer(w, op, "weight");
  require_pointer(dx, op, "dx");
  if (conv2d_uses_winograd(s, ConvPass::backward))
    return winograd_conv2d_backward_input(s, dy, w, dx, winograd_tile_for(s));
  const ConvGeometry g = geometry(s);
  for_image_chunks(s.n, g.macs, [&](int begin, int end, int) {
    T* col = scratch<T, 0>(g.kdim * g.images_per_block * g.ohw);
    T* block_dy = scratch<T, 1>(idx(s.c_out) * g.images_per_block * g.ohw);
    for (int i0 = begin; i0 < end; i0 += g.images_per_block) {
      const int count = std::min(g.images_per_block, end - i0);
      const idx cols = idx(count) * g.ohw;
      const T* dyb = dy + i0 * g.y_image;
      if (count > 1) {
        gather_block(dyb, count, s.c_out, g.ohw, block_dy);
        dyb = block_dy;
      }
      gemm(true, false, int(g.kdim), int(cols), s.c_out, T(1), w, int(g.kdim), dyb, int(cols),
           T(0), col, int(cols));
      col2im(s, col, cols, count, dx + i0 * g.x_image);
    }
  });
}

template <typename T>
void conv2d_backward_weight(const Conv2dShape& s, const T* x, const T* dy, T* dw) {
  constexpr const char* op = "conv2d_backward_weight";
  validate_conv2d_shape(s, op);
  require_pointer(x, op, "x");
  require_pointer(dy, op, "dy");
  require_pointer(dw, op, "dw");
  if (conv2d_uses_winograd(s, ConvPass::backward))
    return winograd_conv2d_backward_weight(s, x, dy, dw, winograd_tile_for(s));
  const ConvGeometry g = geometry(s);
  const idx wsize = idx(s.c_out) * g.kdim;
  // dW = dY · colᵀ is c_out × kdim. When kdim < c_out (a first layer: 1→32,
  // 3×3 gives 32 × 9) the GEMM computes dWᵀ = col · dYᵀ instead: our SGEMM
  // runs a 9 × 32 result about 2x faster than a 32 × 9 one (bench, K = 2704).
  const bool transposed = g.kdim < s.c_out;
  const int m = transposed ? int(g.kdim) : s.c_out, n = transposed ? s.c_out : int(g.kdim);
  // One partial dw (or dwᵀ) per thread, summed below in thread order.
  T* partials = scratch<T, 2>(wsize * omp_get_max_threads());
  const int chunks = for_image_chunks(s.n, g.macs, [&](int begin, int end, int t) {
    T* col = scratch<T, 0>(g.kdim * g.images_per_block * g.ohw);
    T* block_dy = scratch<T, 1>(idx(s.c_out) * g.images_per_block * g.ohw);
    T* acc = partials + t * wsize;
    for (int i0 = begin; i0 < end; i0 += g.images_per_block) {
      const int count = std::min(g.images_per_block, end - i0);
      const idx cols = idx(count) * g.ohw;
      im2col(s, x + i0 * g.x_image, count, col, cols);
      const T* dyb = dy + i0 * g.y_image;
      if (count > 1) {
        gather_block(dyb, count, s.c_out, g.ohw, block_dy);
        dyb = block_dy;
      }
      gemm(false, true, m, n, int(cols), T(1), transposed ? col : dyb, int(cols),
           transposed ? dyb : col, int(cols), i0 == begin ? T(0) : T(1), acc, n);
    }
  });
#pragma omp parallel for schedule(static) if (chunks > 1 && wsize >= kParallelMinMacs)
  for (int co = 0; co < s.c_out; ++co)
    for (idx r = 0; r < g.kdim; ++r) {
      const idx at = transposed ? r * s.c_out + co : co * g.kdim + r;
      T sum = partials[at];
      for (int t = 1; t < chunks; ++t) sum += partials[t * wsize + at];
      dw[co * g.kdim + r] = sum;
    }
}

template <typename T>
void conv2d_backward(const Conv2dShape& s, const T* x, const T* dy, const T* w, T* dx, T* dw) {
  constexpr const char* op = "conv2d_backward";
  validate_conv2d_shape(s, op);
  if (!dx && !dw) throw std::invalid_argument(std::string(op) + ": neither dx nor dw asked for");
  if (conv2d_uses_winograd(s, ConvPass::backward)) {
    require_pointer(dy, op, "dy");
    if (dx) require_pointer(w, op, "weight");
    if (dw) require_pointer(x, op, "x");
    return winograd_conv2d_backward(s, x, dy, w, dx, dw, winograd_tile_for(s));
  }
  if (dx) conv2d_backward_input(s, dy, w, dx);
  if (dw) conv2d_backward_weight(s, x, dy, dw);
}

template <typename T>
void conv2d_backward_bias(const Conv2dShape& s, const T* dy, T* db) {
  constexpr const char* op = "conv2d_backward_bias";
  validate_conv2d_shape(s, op);
  require_pointer(dy, op, "dy");
  require_pointer(db, op, "db");
  const idx ohw = idx(s.out_h()) * s.out_w();
  // Each channel is summed by one thread in a fixed order, image by image,
  // planes added in double, so the result does not depend on the thread
  // count. Threads own contiguous channel ranges and walk images outermost:
  // each image is then one contiguous read, where walking one channel across
  // images jumps c_out·oh·ow elements per plane (first layer at batch 128,
  // one thread: 1.4 ms that way).
  double* totals = scratch<double, 3>(s.c_out);
#pragma omp parallel if (double(s.n) * s.c_out * ohw >= kParallelMinMacs)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int c0 = int(idx(s.c_out) * t / nt), c1 = int(idx(s.c_out) * (t + 1) / nt);
    std::fill(totals + c0, totals + c1, 0.0);
    for (int i = 0; i < s.n; ++i)
      for (int co = c0; co < c1; ++co)
        totals[co] += double(plane_sum(dy + (idx(i) * s.c_out + co) * ohw, ohw));
    for (int co = c0; co < c1; ++co) db[co] = T(totals[co]);
  }
}

template void conv2d_inference_forward<float>(const Conv2dShape&, const float*, const float*, const float*,
                                              float*);
template void conv2d_inference_forward<double>(const Conv2dShape&, const double*, const double*, const double*,
                                               double*);
template void conv2d_forward<float>(const Conv2dShape&, const float*, const float*, const float*,
                                    float*);
template void conv2d_forward<double>(const Conv2dShape&, const double*, const double*,
                                     const double*, double*);
template void conv2d_backward_input<float>(const Conv2dShape&, const float*, const float*, float*);
template void conv2d_backward_input<double>(const Conv2dShape&, const double*, const double*,
                                            double*);
template void conv2d_backward_weight<float>(const Conv2dShape&, const float*, const float*,
                                            float*);
template void conv2d_backward_weight<double>(const Conv2dShape&, const double*, const double*,
                                             double*);
template void conv2d_backward<float>(const Conv2dShape&, const float*, const float*, const float*,
                                     float*, float*);
template void conv2d_backward<double>(const Conv2dShape&, const double*, const double*,
                                      const double*, double*, double*);
template void conv2d_backward_bias<float>(const Conv2dShape&, const float*, float*);
template void conv2d_backward_bias<double>(const Conv2dShape&, const double*, double*);

}  // namespace gc::cpu
