// Winograd F(2×2, 3×3) convolution; the method is described in
// conv2d_winograd.h.
#include "kernels/cpu/conv2d_winograd.h"

#include <omp.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <initializer_list>
#include <stdexcept>
#include <string>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/image_chunks.h"

namespace gc::cpu {
namespace {

using idx = std::ptrdiff_t;
using conv_detail::for_image_chunks;
using conv_detail::scratch;

constexpr int kPoints = 16;  // the 4×4 transform domain: one GEMM per point

// Images per block are chosen so each GEMM has about this many tile columns.
constexpr idx kTargetTiles = 256;

// The six 1-D transforms, out = F·in for F one of the matrices below, reading
// `in` with stride is and writing `out` with stride os.
//        ⎡1  0 −1  0⎤        ⎡ 1   0   0 ⎤
//   Bᵀ = ⎢0  1  1  0⎥    G = ⎢1/2 1/2 1/2⎥    Aᵀ = ⎡1 1  1  0⎤
//        ⎢0 −1  1  0⎥        ⎢1/2 −1/2 1/2⎥         ⎣0 1 −1 −1⎦
//        ⎣0  1  0 −1⎦        ⎣ 0   0   1 ⎦
// The forward pass uses Bᵀ, G and Aᵀ; the backward passes their transposes.
struct InputTransform {  // Bᵀ: 4 → 4
  template <typename T>
  static void apply(const T* in, int is, T* out, int os) {
    out[0] = in[0] - in[2 * is];
    out[os] = in[is] + in[2 * is];
    out[2 * os] = in[2 * is] - in[is];
    out[3 * os] = in[is] - in[3 * is];
  }
};
struct InputAdjoint {  // B: 4 → 4
  template <typename T>
  static void apply(const T* in, int is, T* out, int os) {
    out[0] = in[0];
    out[os] = in[is] - in[2 * is] + in[3 * is];
    out[2 * os] = in[is] + in[2 * is] - in[0];
    out[3 * os] = -in[3 * is];
  }
};
struct FilterTransform {  // G: 3 → 4
  template <typename T>
  static void apply(const T* in, int is, T* out, int os) {
    const T half_sum = T(0.5) * (in[0] + in[2 * is]);
    out[0] = in[0];
    out[os] = half_sum + T(0.5) * in[is];
    out[2 * os] = half_sum - T(0.5) * in[is];
    out[3 * os] = in[2 * is];
  }
};
struct FilterAdjoint {  // Gᵀ: 4 → 3
  template <typename T>
  static void apply(const T* in, int is, T* out, int os) {
    const T half_sum = T(0.5) * (in[is] + in[2 * is]);
    out[0] = in[0] + half_sum;
    out[os] = T(0.5) * (in[is] - in[2 * is]);
    out[2 * os] = half_sum + in[3 * is];
  }
};
struct OutputTransform {  // Aᵀ: 4 → 2
  template <typename T>
  static void apply(const T* in, int is, T* out, int os) {
    out[0] = in[0] + in[is] + in[2 * is];
    out[os] = in[is] - in[2 * is] - in[3 * is];
  }
};
struct OutputAdjoint {  // A: 2 → 4
  template <typename T>
  static void apply(const T* in, int is, T* out, int os) {
    out[0] = in[0];
    out[os] = in[0] + in[is];
    out[2 * os] = in[0] - in[is];
    out[3 * os] = -in[is];
  }
};

// z = F · x · Fᵀ for an In×In tile x and the Out×In matrix F of Transform
// (both row-major): rows of x first (x·Fᵀ), then the columns of that.
template <int In, int Out, typename Transform, typename T>
void sandwich(const T* x, T* z) {
  T rows[In * Out];
  for (int r = 0; r < In; ++r) Transform::apply(x + r * In, 1, rows + r * Out, 1);
  for (int c = 0; c < Out; ++c) Transform::apply(rows + c, Out, z + c, Out);
}

struct TileGrid {
  int th, tw;      // tiles down and across: ⌈out/2⌉
  idx per_image;   // th·tw
  int images_per_block;
};

TileGrid tile_grid(const Conv2dShape& s) {
  TileGrid g;
  g.th = (s.out_h() + 1) / 2;
  g.tw = (s.out_w() + 1) / 2;
  g.per_image = idx(g.th) * g.tw;
  g.images_per_block = int(std::clamp<idx>(kTargetTiles / g.per_image, 1, s.n));
  return g;
}

// A block in the transform domain: for each of the 16 points ξ a channels ×
// tiles matrix (row stride `tiles`), the matrices `stride` floats apart.
// The stride is padded past a multiple of 4 KiB: with c·tiles·4 bytes a
// multiple of 4 KiB (64·288·4 is), the 16 column streams of a transform all
// map to one L1 set and evict each other (measured: the transforms ran 2×
// slower).
template <typename T>
struct PointMatrices {
  T* data;
  idx channels, tiles, stride;

  static idx stride_for(idx channels, idx tiles) { return (channels * tiles + 15) / 16 * 16 + 16; }
  static idx size_for(idx channels, idx tiles) { return kPoints * stride_for(channels, tiles); }
  PointMatrices(T* buffer, idx c, idx t) : data(buffer), channels(c), tiles(t), stride(stride_for(c, t)) {}

  T* matrix(int point) const { return data + point * stride; }
  // Channel c's tiles at point 0; point ξ's are ξ·stride further.
  T* channel(idx c) const { return data + c * tiles; }
};

// U[ξ][co][ci] = (G g[co][ci] Gᵀ)[ξ] for every filter.
template <typename T>
void transform_filters(const Conv2dShape& s, const T* w, T* u) {
  const idx filters = idx(s.c_out) * s.c_in;
  for (idx f = 0; f < filters; ++f) {
    T z[kPoints];
    sandwich<3, 4, FilterTransform>(w + 9 * f, z);
    for (int p = 0; p < kPoints; ++p) u[p * filters + f] = z[p];
  }
}

// Tiles are transformed column-wise: a block's buffers are [point][channel][t]
// (t = img·P + ty·tw + tx), so one channel's tiles of all the block's images
// are contiguous and each transform runs as a SIMD loop over t. Moving values
// between the images and that layout is a separate gather / scatter step.

// Tiles tx whose column 2tx + offset lies in [0, w): [lo, hi) of [0, tw).
struct TileSpan {
  int lo, hi;
};
TileSpan tile_span(int tw, int w, int offset) {
  const int lo = std::min(tw, offset >= 0 ? 0 : (1 - offset) / 2);
  const int hi = std::clamp(w - 1 - offset < 0 ? 0 : (w - 1 - offset) / 2 + 1, lo, tw);
  return {lo, hi};
}

// For k = r·Size + c: out[k·ks + ty·tw + tx] = plane[2ty − pad_h + r][2tx − pad_w + c],
// 0 outside the h × w plane (Size 2: the output tiles of dy).
template <int Size, typename T>
void gather_tiles(const T* plane, int h, int w, int pad_h, int pad_w, int th, int tw, T* out,
                  idx ks) {
  for (int r = 0; r < Size; ++r)
    for (int c = 0; c < Size; ++c) {
      T* dst = out + (r * Size + c) * ks;
      const int offset = c - pad_w;
      const TileSpan span = tile_span(tw, w, offset);
      for (int ty = 0; ty < th; ++ty, dst += tw) {
        const int y = 2 * ty - pad_h + r;
        if (y < 0 || y >= h) {
          std::fill_n(dst, tw, T(0));
          continue;
        }
        const T* row = plane + idx(y) * w + offset;
        std::fill(dst, dst + span.lo, T(0));
        for (int tx = span.lo; tx < span.hi; ++tx) dst[tx] = row[2 * tx];
        std::fill(dst + span.hi, dst + tw, T(0));
      }
    }
}

// The reverse of gather_tiles for non-overlapping tiles (Size 2): plane[...]
// = the tile values, for the positions inside the plane.
template <int Size, typename T>
void scatter_tiles(const T* in, idx ks, int h, int w, int pad_h, int pad_w, int th, int tw,
                   T* plane) {
  for (int r = 0; r < Size; ++r)
    for (int c = 0; c < Size; ++c) {
      const T* src = in + (r * Size + c) * ks;
      const int offset = c - pad_w;
      const TileSpan span = tile_span(tw, w, offset);
      for (int ty = 0; ty < th; ++ty, src += tw) {
        const int y = 2 * ty - pad_h + r;
        if (y < 0 || y >= h) continue;
        T* row = plane + idx(y) * w + offset;
        for (int tx = span.lo; tx < span.hi; ++tx) row[2 * tx] = src[tx];
      }
    }
}

// A GCC/Clang vector of 32 bytes (8 floats, 4 doubles); the compiler lowers
// it to whatever SIMD the file is built for (two SSE registers by default).
template <typename T>
struct Lanes {
  typedef T type __attribute__((vector_size(32)));
  static constexpr int count = 32 / sizeof(T);
};

// For every column t < count: z = F·x·Fᵀ + bias, x[k] = in[k·stride + t]
// (k < In²), z written to in[k·stride + t] (k < Out²): in place, each column
// read whole before it is written. Lanes::count columns at a time.
template <int In, int Out, typename Transform, typename T>
void transform_columns(T* in, idx stride, idx count, T bias = T(0)) {
  using Vec = typename Lanes<T>::type;
  idx t = 0;
  for (; t + Lanes<T>::count <= count; t += Lanes<T>::count) {
    Vec x[In * In], z[Out * Out];
    for (int k = 0; k < In * In; ++k) std::memcpy(&x[k], in + k * stride + t, sizeof(Vec));
    sandwich<In, Out, Transform>(x, z);
    for (int k = 0; k < Out * Out; ++k) {
      const Vec out = z[k] + bias;
      std::memcpy(in + k * stride + t, &out, sizeof(Vec));
    }
  }
  for (; t < count; ++t) {
    T x[In * In], z[Out * Out];
    for (int k = 0; k < In * In; ++k) x[k] = in[k * stride + t];
    sandwich<In, Out, Transform>(x, z);
    for (int k = 0; k < Out * Out; ++k) in[k * stride + t] = z[k] + bias;
  }
}

// The input transform V = Bᵀ d B is separable, and neighbouring tiles share
// half their rows and columns, so it runs in two 1-D steps over a whole plane:
//   rows:    q[y][j][tx] = (Bᵀ · (d row y, columns 2tx − pad .. +3))[j]   for every input row y
//   columns: V[4i + j][ty·tw + tx] = (Bᵀ · (q[2ty − pad + r][j][tx], r = 0..3))[i]
// Each input value is read once per tile column instead of once per tile
// (4× fewer reads), and the column step is a plain loop over tx.
// q holds the 2·th + 2 rows the tiles touch, from y = −pad_h; rows and
// columns outside the plane are zero.
template <typename T>
void transform_input_plane(const T* plane, const Conv2dShape& s, const TileGrid& g, T* q, T* v,
                           idx stride) {
  const int tw = g.tw, rows = 2 * g.th + 2;
  const TileSpan inside = tile_span(tw, s.w - 3, -s.pad_w);  // all four columns in the plane
  for (int ry = 0; ry < rows; ++ry) {
    T* q_row = q + idx(ry) * 4 * tw;
    const int y = ry - s.pad_h;
    if (y < 0 || y >= s.h) {
      std::fill_n(q_row, 4 * tw, T(0));
      continue;
    }
    const T* row = plane + idx(y) * s.w;
    for (int tx = 0; tx < tw; ++tx) {
      const int x0 = 2 * tx - s.pad_w;
      T e[4];
      if (tx >= inside.lo && tx < inside.hi) {
        for (int c = 0; c < 4; ++c) e[c] = row[x0 + c];
      } else {
        for (int c = 0; c < 4; ++c) e[c] = (x0 + c >= 0 && x0 + c < s.w) ? row[x0 + c] : T(0);
      }
      InputTransform::apply(e, 1, q_row + tx, tw);
    }
  }
  for (int ty = 0; ty < g.th; ++ty)
    for (int j = 0; j < 4; ++j) {
      const T* src = q + idx(2 * ty) * 4 * tw + j * tw;
      T* dst = v + j * stride + idx(ty) * tw;
      for (int tx = 0; tx < tw; ++tx) InputTransform::apply(src + tx, 4 * tw, dst + tx, 4 * stride);
    }
}

// The adjoint of transform_input_plane: dx_plane += B dV_t Bᵀ over the tiles,
// the same two steps transposed and in reverse (columns, then rows), sums in
// a fixed order. q: scratch as above.
template <typename T>
void transform_input_grad_plane(const T* dv, idx stride, const Conv2dShape& s, const TileGrid& g,
                                T* q, T* dx_plane) {
  const int tw = g.tw, rows = 2 * g.th + 2;
  std::fill_n(q, idx(rows) * 4 * tw, T(0));
  for (int ty = 0; ty < g.th; ++ty)
    for (int j = 0; j < 4; ++j) {
      const T* src = dv + j * stride + idx(ty) * tw;
      T* dst = q + idx(2 * ty) * 4 * tw + j * tw;
      for (int tx = 0; tx < tw; ++tx) {
        T r[4];
        InputAdjoint::apply(src + tx, 4 * stride, r, 1);
        for (int k = 0; k < 4; ++k) dst[k * 4 * tw + tx] += r[k];
      }
    }
  for (int ry = 0; ry < rows; ++ry) {
    const int y = ry - s.pad_h;
    if (y < 0 || y >= s.h) continue;
    const T* q_row = q + idx(ry) * 4 * tw;
    T* row = dx_plane + idx(y) * s.w;
    for (int tx = 0; tx < tw; ++tx) {
      const int x0 = 2 * tx - s.pad_w;
      T e[4];
      InputAdjoint::apply(q_row + tx, tw, e, 1);
      for (int c = 0; c < 4; ++c)
        if (x0 + c >= 0 && x0 + c < s.w) row[x0 + c] += e[c];
    }
  }
}

// V[ξ][ci][t] = (Bᵀ d B)[ξ] for the images at x (v.tiles / P of them).
template <typename T>
void transform_inputs(const Conv2dShape& s, const TileGrid& g, const T* x, const PointMatrices<T>& v) {
  const idx plane_size = idx(s.h) * s.w;
  const int count = int(v.tiles / g.per_image);
  T* q = scratch<T, 14>(idx(2 * g.th + 2) * 4 * g.tw);
  for (int img = 0; img < count; ++img)
    for (int ci = 0; ci < s.c_in; ++ci)
      transform_input_plane(x + (idx(img) * s.c_in + ci) * plane_size, s, g, q,
                            v.channel(ci) + img * g.per_image, v.stride);
}

// y = Aᵀ M A + bias per tile, keeping the outputs inside out_h × out_w. M is
// overwritten.
template <typename T>
void transform_outputs(const Conv2dShape& s, const TileGrid& g, const PointMatrices<T>& m,
                       const T* bias, T* y) {
  const int oh = s.out_h(), ow = s.out_w();
  const int count = int(m.tiles / g.per_image);
  for (int co = 0; co < s.c_out; ++co)
    transform_columns<4, 2, OutputTransform>(m.channel(co), m.stride, m.tiles, bias ? bias[co] : T(0));
  for (int img = 0; img < count; ++img)
    for (int co = 0; co < s.c_out; ++co)
      scatter_tiles<2>(m.channel(co) + img * g.per_image, m.stride, oh, ow, 0, 0, g.th, g.tw,
                              y + (idx(img) * s.c_out + co) * oh * ow);
}

// dM[ξ][co][t] = (A dY_t Aᵀ)[ξ], dY_t the tile's 2×2 of dy (0 past the edge).
template <typename T>
void transform_output_grads(const Conv2dShape& s, const TileGrid& g, const T* dy,
                            const PointMatrices<T>& dm) {
  const int oh = s.out_h(), ow = s.out_w();
  const int count = int(dm.tiles / g.per_image);
  for (int img = 0; img < count; ++img)
    for (int co = 0; co < s.c_out; ++co)
      gather_tiles<2>(dy + (idx(img) * s.c_out + co) * oh * ow, oh, ow, 0, 0, g.th, g.tw,
                      dm.channel(co) + img * g.per_image, dm.stride);
  // The 2×2 gradients sit in points 0..3 and become all 16: the transform
  // reads a column whole before writing it.
  for (int co = 0; co < s.c_out; ++co)
    transform_columns<2, 4, OutputAdjoint>(dm.channel(co), dm.stride, dm.tiles);
}

// dx = Σ_t B dV_t Bᵀ placed at each tile's patch (dropping the padding), for
// the block's images at dx, which are overwritten.
template <typename T>
void transform_input_grads(const Conv2dShape& s, const TileGrid& g, const PointMatrices<T>& dv, T* dx) {
  const idx plane_size = idx(s.h) * s.w;
  const int count = int(dv.tiles / g.per_image);
  T* q = scratch<T, 14>(idx(2 * g.th + 2) * 4 * g.tw);
  std::fill_n(dx, idx(count) * s.c_in * plane_size, T(0));
  for (int img = 0; img < count; ++img)
    for (int ci = 0; ci < s.c_in; ++ci)
      transform_input_grad_plane(dv.channel(ci) + img * g.per_image, dv.stride, s, g, q,
                                 dx + (idx(img) * s.c_in + ci) * plane_size);
}

void check(const Conv2dShape& s, const char* op, std::initializer_list<const void*> pointers) {
  validate_conv2d_shape(s, op);
  if (!winograd_supports(s))
    throw std::invalid_argument(std::string(op) +
                                ": Winograd F(2x2,3x3) needs a 3x3 kernel, stride 1 and dilation 1");
  for (const void* p : pointers)
    if (p == nullptr) throw std::invalid_argument(std::string(op) + ": null pointer argument");
}

double direct_macs(const Conv2dShape& s) {
  return double(s.n) * s.c_out * s.out_h() * s.out_w() * s.c_in * 9.0;
}

}  // namespace

bool winograd_supports(const Conv2dShape& s) {
  return s.kh == 3 && s.kw == 3 && s.stride_h == 1 && s.stride_w == 1 && s.dil_h == 1 &&
         s.dil_w == 1;
}

template <typename T>
void winograd_conv2d_forward(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y) {
  check(s, "winograd_conv2d_forward", {x, w, y});
  const TileGrid g = tile_grid(s);
  const idx filters = idx(s.c_out) * s.c_in, block_tiles = g.images_per_block * g.per_image;
  T* u = scratch<T, 10>(kPoints * filters);
  transform_filters(s, w, u);
  for_image_chunks(s.n, direct_macs(s), [&](int begin, int end, int) {
    T* v_buffer = scratch<T, 11>(PointMatrices<T>::size_for(s.c_in, block_tiles));
    T* m_buffer = scratch<T, 12>(PointMatrices<T>::size_for(s.c_out, block_tiles));
    for (int i0 = begin; i0 < end; i0 += g.images_per_block) {
      const idx tiles = std::min(g.images_per_block, end - i0) * g.per_image;
      const PointMatrices<T> v(v_buffer, s.c_in, tiles), m(m_buffer, s.c_out, tiles);
      transform_inputs(s, g, x + idx(i0) * s.c_in * s.h * s.w, v);
      for (int p = 0; p < kPoints; ++p)
        gemm(false, false, s.c_out, int(tiles), s.c_in, T(1), u + p * filters, s.c_in, v.matrix(p),
             int(tiles), T(0), m.matrix(p), int(tiles));
      transform_outputs(s, g, m, bias, y + idx(i0) * s.c_out * s.out_h() * s.out_w());
    }
  });
}

template <typename T>
void winograd_conv2d_backward_input(const Conv2dShape& s, const T* dy, const T* w, T* dx) {
  check(s, "winograd_conv2d_backward_input", {dy, w, dx});
  const TileGrid g = tile_grid(s);
  const idx filters = idx(s.c_out) * s.c_in, block_tiles = g.images_per_block * g.per_image;
  T* u = scratch<T, 10>(kPoints * filters);
  transform_filters(s, w, u);
  for_image_chunks(s.n, direct_macs(s), [&](int begin, int end, int) {
    T* dm_buffer = scratch<T, 12>(PointMatrices<T>::size_for(s.c_out, block_tiles));
    T* dv_buffer = scratch<T, 11>(PointMatrices<T>::size_for(s.c_in, block_tiles));
    for (int i0 = begin; i0 < end; i0 += g.images_per_block) {
      const idx tiles = std::min(g.images_per_block, end - i0) * g.per_image;
      const PointMatrices<T> dm(dm_buffer, s.c_out, tiles), dv(dv_buffer, s.c_in, tiles);
      transform_output_grads(s, g, dy + idx(i0) * s.c_out * s.out_h() * s.out_w(), dm);
      for (int p = 0; p < kPoints; ++p)
        gemm(true, false, s.c_in, int(tiles), s.c_out, T(1), u + p * filters, s.c_in, dm.matrix(p),
             int(tiles), T(0), dv.matrix(p), int(tiles));
      transform_input_grads(s, g, dv, dx + idx(i0) * s.c_in * s.h * s.w);
    }
  });
}

template <typename T>
void winograd_conv2d_backward_weight(const Conv2dShape& s, const T* x, const T* dy, T* dw) {
  check(s, "winograd_conv2d_backward_weight", {x, dy, dw});
  const TileGrid g = tile_grid(s);
  const idx filters = idx(s.c_out) * s.c_in, block_tiles = g.images_per_block * g.per_image;
  // One partial dU per thread, summed below in thread order.
  T* partials = scratch<T, 13>(kPoints * filters * omp_get_max_threads());
  const int chunks = for_image_chunks(s.n, direct_macs(s), [&](int begin, int end, int thread) {
    T* v_buffer = scratch<T, 11>(PointMatrices<T>::size_for(s.c_in, block_tiles));
    T* dm_buffer = scratch<T, 12>(PointMatrices<T>::size_for(s.c_out, block_tiles));
    T* du = partials + thread * kPoints * filters;
    for (int i0 = begin; i0 < end; i0 += g.images_per_block) {
      const idx tiles = std::min(g.images_per_block, end - i0) * g.per_image;
      const PointMatrices<T> v(v_buffer, s.c_in, tiles), dm(dm_buffer, s.c_out, tiles);
      transform_inputs(s, g, x + idx(i0) * s.c_in * s.h * s.w, v);
      transform_output_grads(s, g, dy + idx(i0) * s.c_out * s.out_h() * s.out_w(), dm);
      for (int p = 0; p < kPoints; ++p)
        gemm(false, true, s.c_out, s.c_in, int(tiles), T(1), dm.matrix(p), int(tiles), v.matrix(p),
             int(tiles), i0 == begin ? T(0) : T(1), du + p * filters, s.c_in);
    }
  });
  for (int t = 1; t < chunks; ++t)
    for (idx e = 0; e < kPoints * filters; ++e) partials[e] += partials[t * kPoints * filters + e];
  // dW[co][ci] = Gᵀ dU[·][co][ci] G.
  for (idx f = 0; f < filters; ++f) {
    T points[kPoints];
    for (int p = 0; p < kPoints; ++p) points[p] = partials[p * filters + f];
    sandwich<4, 3, FilterAdjoint>(points, dw + 9 * f);
  }
}

template void winograd_conv2d_forward<float>(const Conv2dShape&, const float*, const float*,
                                             const float*, float*);
template void winograd_conv2d_forward<double>(const Conv2dShape&, const double*, const double*,
                                              const double*, double*);
template void winograd_conv2d_backward_input<float>(const Conv2dShape&, const float*, const float*,
                                                    float*);
template void winograd_conv2d_backward_input<double>(const Conv2dShape&, const double*,
                                                     const double*, double*);
template void winograd_conv2d_backward_weight<float>(const Conv2dShape&, const float*,
                                                     const float*, float*);
template void winograd_conv2d_backward_weight<double>(const Conv2dShape&, const double*,
                                                      const double*, double*);

}  // namespace gc::cpu
