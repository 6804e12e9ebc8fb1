// Winograd convolution; the method is described in conv2d_winograd.h, the
// tile transforms are in winograd_tiles.h.
#include "kernels/cpu/conv2d_winograd.h"

#include <omp.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/image_chunks.h"
#include "kernels/cpu/sgemm_kernel.h"
#include "kernels/cpu/winograd_tiles.h"

namespace gc::cpu {
namespace {

using idx = std::ptrdiff_t;
using conv_detail::for_image_chunks;
using conv_detail::for_shared_chunks;
using conv_detail::scratch;
using winograd::F2x2;
using winograd::F4x4;
using winograd::F6x6;
using winograd::sandwich;

// Groups per block are chosen so each GEMM has about this many tile columns
// (at least one group). The seed CNN's 3-layer conv train step, batch 128,
// 2 threads: 24.9 ms with 128, 25.2 with 64 or 96, 26.2 with 32, 28.1 with
// 256, 28.6 with 512; larger blocks spill the transform buffers out of L2.
// The forward pass takes 144: two groups of layer 1 (72 columns each) where
// 128 took one, filling nine 16-column GEMM panels with none part-empty
// (inference, batch 64: layer 1 forward 2.33–2.65 ms against 2.59–2.80 ms);
// a forward output does not depend on the block size. The backward passes
// keep 128: grad-weight sums over a block's columns, so the block size sets
// its rounding, and with it a training run's path (the 300-step training
// test's accuracy moved from 95.0% to 93.9% with 144).
constexpr idx kForwardColumns = 144;
constexpr idx kBackwardColumns = 128;

// A GCC/Clang vector of 32 bytes (8 floats, 4 doubles); the compiler lowers
// it to whatever SIMD the file is built for (two SSE registers by default).
template <typename T>
struct Lanes {
  typedef T Vec __attribute__((vector_size(32)));
  static constexpr int count = 32 / sizeof(T);
};
template <typename T>
using Vec = typename Lanes<T>::Vec;

template <typename T>
Vec<T> load(const T* p) {
  Vec<T> v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <typename T>
void store(T* p, Vec<T> v) {
  std::memcpy(p, &v, sizeof v);
}

// SIMD lanes run across images: the images of a group of L = Lanes::count
// are interleaved ("lane layout", [channel][y][x][lane]), so every transform
// step is one vector operation for L images, whatever the plane size. A
// block's tile columns are t = (group·P + ty·tw + tx)·L + lane; a last group
// short of L images has zero lanes, which stay zero through every step (and
// add nothing to grad-weight).
struct TileGrid {
  int th, tw;     // tiles down and across: ⌈out/m⌉
  idx per_image;  // P = th·tw
  int groups_per_block;
};

template <typename Tile, typename T>
TileGrid tile_grid(const Conv2dShape& s, idx target_columns) {
  TileGrid g;
  g.th = (s.out_h() + Tile::m - 1) / Tile::m;
  g.tw = (s.out_w() + Tile::m - 1) / Tile::m;
  g.per_image = idx(g.th) * g.tw;
  g.groups_per_block = int(std::max<idx>(1, target_columns / (g.per_image * Lanes<T>::count)));
  return g;
}

// out[e·L + lane] = image `lane`'s element e (images `size` apart), for
// lane < count; the other lanes 0. Element-major, so the writes stream and
// the L reads per element come from L sequential streams.
template <typename T>
void to_lanes(const T* images, idx size, int count, T* out) {
  constexpr int L = Lanes<T>::count;
  if (count == L) {
    for (idx e = 0; e < size; ++e, out += L)
      for (int lane = 0; lane < L; ++lane) out[lane] = images[lane * size + e];
    return;
  }
  for (idx e = 0; e < size; ++e, out += L)
    for (int lane = 0; lane < L; ++lane) out[lane] = lane < count ? images[lane * size + e] : T(0);
}

// The inverse, for the first `count` lanes.
template <typename T>
void from_lanes(const T* in, idx size, int count, T* images) {
  constexpr int L = Lanes<T>::count;
  if (count == L) {
    for (idx e = 0; e < size; ++e, in += L)
      for (int lane = 0; lane < L; ++lane) images[lane * size + e] = in[lane];
    return;
  }
  for (idx e = 0; e < size; ++e, in += L)
    for (int lane = 0; lane < count; ++lane) images[lane * size + e] = in[lane];
}

// A block in the transform domain: for each of the α² points ξ a channels ×
// tiles matrix, the matrices `stride` elements apart. A matrix is row-major
// (row stride `tiles`), or, with a panel width W, cut into column panels of
// W, each stored channels × W row-major: the micro-kernel's packed B layout
// (sgemm_kernel.h), which the float forward pass writes V in. The stride is
// padded past a multiple of 4 KiB: with c·tiles·4 bytes a multiple of 4 KiB
// (64·288·4 is), the α² streams of a transform all map to one L1 set and
// evict each other (measured: the transforms ran 2× slower).
template <typename Tile, typename T>
struct PointMatrices {
  static constexpr int points = Tile::alpha * Tile::alpha;
  T* data;
  idx channels, tiles, stride, panel;

  static idx stride_for(idx channels, idx tiles) { return (channels * tiles + 15) / 16 * 16 + 16; }
  static idx size_for(idx channels, idx tiles) { return points * stride_for(channels, tiles); }
  // tiles must be a multiple of panel_width (0: one panel, row-major).
  PointMatrices(T* buffer, idx c, idx t, idx panel_width = 0)
      : data(buffer), channels(c), tiles(t), stride(stride_for(c, t)), panel(panel_width ? panel_width : t) {}

  T* matrix(int point) const { return data + point * stride; }
  // Channel c's tiles at point 0 (row-major only); point ξ's are ξ·stride further.
  T* channel(idx c) const { return data + c * tiles; }
  // Channel c's column `column` at point 0, in either layout.
  T* at(idx c, idx column) const { return data + (column / panel) * channels * panel + c * panel + column % panel; }
};

// U[ξ][co][ci] = (G g[co][ci] Gᵀ)[ξ] for every filter, L filters at a time
// in the SIMD lanes (on the calling thread, before the threads start).
template <typename Tile, typename T>
void transform_filters(const Conv2dShape& s, const T* w, T* u) {
  constexpr int L = Lanes<T>::count, points = Tile::alpha * Tile::alpha;
  const idx filters = idx(s.c_out) * s.c_in;
  for (idx f0 = 0; f0 < filters; f0 += L) {
    const int count = int(std::min<idx>(L, filters - f0));
    T lanes[9 * L], out[L];
    to_lanes(w + 9 * f0, 9, count, lanes);
    Vec<T> g[9], z[points];
    for (int k = 0; k < 9; ++k) g[k] = load(lanes + k * L);
    sandwich<3, Tile::alpha, typename Tile::Filter>(g, z);
    for (int p = 0; p < points; ++p) {
      if (count == L) {
        store(u + p * filters + f0, z[p]);
        continue;
      }
      store(out, z[p]);
      for (int lane = 0; lane < count; ++lane) u[p * filters + f0 + lane] = out[lane];
    }
  }
}

// U packed for the SGEMM micro-kernel (the A layout of sgemm_kernel.h): per
// point ξ, ⌈c_out/mr⌉ panels of mr rows, panel[ci·mr + i] = U_ξ[r0 + i][ci],
// the rows past c_out zero.
template <typename T>
void pack_filters(const Conv2dShape& s, int points, const T* u, int mr, T* packed) {
  const idx filters = idx(s.c_out) * s.c_in, panels = (s.c_out + mr - 1) / mr;
  for (int p = 0; p < points; ++p)
    for (idx panel = 0; panel < panels; ++panel)
      for (int ci = 0; ci < s.c_in; ++ci)
        for (int i = 0; i < mr; ++i) {
          const idx co = panel * mr + i;
          *packed++ = co < s.c_out ? u[p * filters + co * s.c_in + ci] : T(0);
        }
}

idx packed_filters_size(const Conv2dShape& s, int points, int mr) {
  return idx(points) * (s.c_out + mr - 1) / mr * mr * s.c_in;
}

// U for w, from a small per-thread cache of the last kCachedFilterSets
// weight sets; with pack_mr > 0 U packed for a micro-kernel of mr rows
// (pack_filters), else U as it is. Inference runs the same few layers'
// weights again and again, and a training step's backward pass sees the
// weights its forward pass did. An entry is used only when the weights
// equal, bit for bit, the copy it was made from, so a changed weight can
// never be served a stale U; a miss costs that copy besides the transform.
// Weight sets over kCachedFiltersMax filters are transformed into scratch
// instead. Seed CNN layer 2 (64→64 on 5×5, 36·4096 transformed weights),
// batch 128, 2 threads: forward 1.35 → 0.98 ms (bench_conv2d), the
// transform having run alone.
constexpr int kCachedFilterSets = 4;
constexpr idx kCachedFiltersMax = 128 * 128;

template <typename Tile, typename T>
const T* transformed_filters(const Conv2dShape& s, const T* w, int pack_mr = 0) {
  constexpr int points = Tile::alpha * Tile::alpha;
  const idx filters = idx(s.c_out) * s.c_in, w_size = 9 * filters;
  if (filters > kCachedFiltersMax) {
    T* u = scratch<T, 10>(points * filters);
    transform_filters<Tile>(s, w, u);
    if (pack_mr == 0) return u;
    T* packed = scratch<T, 15>(packed_filters_size(s, points, pack_mr));
    pack_filters(s, points, u, pack_mr, packed);
    return packed;
  }
  struct Entry {
    int c_out = 0, c_in = 0, packed_mr = 0;
    std::vector<T> w, u, packed;
  };
  thread_local std::array<Entry, kCachedFilterSets> entries;  // the most recently used first
  auto hit = std::find_if(entries.begin(), entries.end(), [&](const Entry& e) {
    return e.c_out == s.c_out && e.c_in == s.c_in && std::memcmp(e.w.data(), w, w_size * sizeof(T)) == 0;
  });
  if (hit == entries.end()) {
    hit = entries.end() - 1;
    hit->c_out = s.c_out;
    hit->c_in = s.c_in;
    hit->packed_mr = 0;
    hit->w.assign(w, w + w_size);
    hit->u.resize(points * filters);
    transform_filters<Tile>(s, w, hit->u.data());
  }
  if (pack_mr > 0 && hit->packed_mr != pack_mr) {
    hit->packed.resize(packed_filters_size(s, points, pack_mr));
    pack_filters(s, points, hit->u.data(), pack_mr, hit->packed.data());
    hit->packed_mr = pack_mr;
  }
  std::rotate(entries.begin(), hit, hit + 1);
  return pack_mr > 0 ? entries.front().packed.data() : entries.front().u.data();
}

// The four tile steps, for one group of L images: from or to lane-layout
// planes, and the group's tile columns starting at column0 of the block.

// V = Bᵀ d B per tile and input channel; d is the α×α patch at
// (m·ty − pad, m·tx − pad), zero outside the plane.
template <typename Tile, typename T>
void transform_inputs(const Conv2dShape& s, const TileGrid& g, const T* xl,
                      const PointMatrices<Tile, T>& v, idx column0) {
  constexpr int L = Lanes<T>::count, a = Tile::alpha;
  for (int ci = 0; ci < s.c_in; ++ci) {
    const T* plane = xl + idx(ci) * s.h * s.w * L;
    idx column = column0;
    for (int ty = 0; ty < g.th; ++ty)
      for (int tx = 0; tx < g.tw; ++tx, column += L) {
        T* dst = v.at(ci, column);
        Vec<T> d[a * a], z[a * a];
        for (int r = 0; r < a; ++r)
          for (int c = 0; c < a; ++c) {
            const int y = Tile::m * ty - s.pad_h + r, x = Tile::m * tx - s.pad_w + c;
            const bool inside = y >= 0 && y < s.h && x >= 0 && x < s.w;
            d[a * r + c] = inside ? load(plane + (idx(y) * s.w + x) * L) : Vec<T>{};
          }
        sandwich<a, a, typename Tile::Input>(d, z);
        for (int p = 0; p < a * a; ++p) store(dst + p * v.stride, z[p]);
      }
  }
}

// Aᵀ M A for every tile of every output channel: emit(co, ty, tx, out)
// receives each tile's m×m outputs (lane vectors, row-major).
template <typename Tile, typename T, typename Emit>
void for_each_output_tile(const Conv2dShape& s, const TileGrid& g, const PointMatrices<Tile, T>& m, idx column0,
                          Emit&& emit) {
  constexpr int L = Lanes<T>::count, a = Tile::alpha, mt = Tile::m;
  for (int co = 0; co < s.c_out; ++co) {
    const T* src = m.channel(co) + column0;
    for (int ty = 0; ty < g.th; ++ty)
      for (int tx = 0; tx < g.tw; ++tx, src += L) {
        Vec<T> points[a * a], out[mt * mt];
        for (int p = 0; p < a * a; ++p) points[p] = load(src + p * m.stride);
        sandwich<a, mt, typename Tile::Output>(points, out);
        emit(co, ty, tx, out);
      }
  }
}

// y = Aᵀ M A + bias per tile and output channel, the outputs inside
// out_h × out_w kept.
template <typename Tile, typename T>
void transform_outputs(const Conv2dShape& s, const TileGrid& g, const PointMatrices<Tile, T>& m,
                       idx column0, const T* bias, T* yl) {
  constexpr int L = Lanes<T>::count, mt = Tile::m;
  const int oh = s.out_h(), ow = s.out_w();
  for_each_output_tile(s, g, m, column0, [&](int co, int ty, int tx, const Vec<T>* out) {
    T* plane = yl + idx(co) * oh * ow * L;
    const T b = bias ? bias[co] : T(0);
    for (int r = 0; r < mt && mt * ty + r < oh; ++r)
      for (int c = 0; c < mt && mt * tx + c < ow; ++c)
        store(plane + (idx(mt * ty + r) * ow + mt * tx + c) * L, out[mt * r + c] + b);
  });
}

template <typename V>
V vmax(V a, V b) {
  return a > b ? a : b;
}

// The same, then max over each 2×2 window and rectified, into lane-layout
// planes of ⌊out_h/2⌋ × ⌊out_w/2⌋ (conv2d_winograd_pool_relu_forward): m is
// even, so a tile holds its windows whole. The bias goes in after the max,
// which gives the same value (rounding is monotonic).
template <typename Tile, typename T>
void transform_outputs_pooled(const Conv2dShape& s, const TileGrid& g, const PointMatrices<Tile, T>& m,
                              idx column0, const T* bias, T* yl) {
  constexpr int L = Lanes<T>::count, mt = Tile::m, half = mt / 2;
  static_assert(mt % 2 == 0, "a pool window must lie in one tile");
  const int ph = s.out_h() / 2, pw = s.out_w() / 2;
  for_each_output_tile(s, g, m, column0, [&](int co, int ty, int tx, const Vec<T>* out) {
    T* plane = yl + idx(co) * ph * pw * L;
    const Vec<T> b = Vec<T>{} + (bias ? bias[co] : T(0)), zero{};
    for (int r = 0; r < half && half * ty + r < ph; ++r)
      for (int c = 0; c < half && half * tx + c < pw; ++c) {
        const Vec<T>* top = out + 2 * r * mt + 2 * c;
        const Vec<T> most = vmax(vmax(top[0], top[1]), vmax(top[mt], top[mt + 1]));
        store(plane + (idx(half * ty + r) * pw + half * tx + c) * L, vmax(most + b, zero));
      }
  });
}

// dM = A dY Aᵀ per tile and output channel, dY the tile's m×m of dy (zero
// past the edge).
template <typename Tile, typename T>
void transform_output_grads(const Conv2dShape& s, const TileGrid& g, const T* dyl,
                            const PointMatrices<Tile, T>& dm, idx column0) {
  constexpr int L = Lanes<T>::count, a = Tile::alpha, mt = Tile::m;
  const int oh = s.out_h(), ow = s.out_w();
  for (int co = 0; co < s.c_out; ++co) {
    const T* plane = dyl + idx(co) * oh * ow * L;
    T* dst = dm.channel(co) + column0;
    for (int ty = 0; ty < g.th; ++ty)
      for (int tx = 0; tx < g.tw; ++tx, dst += L) {
        Vec<T> grad[mt * mt], z[a * a];
        for (int r = 0; r < mt; ++r)
          for (int c = 0; c < mt; ++c) {
            const int oy = mt * ty + r, ox = mt * tx + c;
            grad[mt * r + c] = (oy < oh && ox < ow) ? load(plane + (idx(oy) * ow + ox) * L) : Vec<T>{};
          }
        sandwich<mt, a, typename Tile::OutputAdjoint>(grad, z);
        for (int p = 0; p < a * a; ++p) store(dst + p * dm.stride, z[p]);
      }
  }
}

// dx += B dV Bᵀ per tile and input channel, placed at the tile's patch
// (the padding dropped). Patches overlap; the adds run in a fixed order.
template <typename Tile, typename T>
void transform_input_grads(const Conv2dShape& s, const TileGrid& g, const PointMatrices<Tile, T>& dv,
                           idx column0, T* dxl) {
  constexpr int L = Lanes<T>::count, a = Tile::alpha;
  for (int ci = 0; ci < s.c_in; ++ci) {
    T* plane = dxl + idx(ci) * s.h * s.w * L;
    const T* src = dv.channel(ci) + column0;
    for (int ty = 0; ty < g.th; ++ty)
      for (int tx = 0; tx < g.tw; ++tx, src += L) {
        Vec<T> points[a * a], patch[a * a];
        for (int p = 0; p < a * a; ++p) points[p] = load(src + p * dv.stride);
        sandwich<a, a, typename Tile::InputAdjoint>(points, patch);
        for (int r = 0; r < a; ++r)
          for (int c = 0; c < a; ++c) {
            const int y = Tile::m * ty - s.pad_h + r, x = Tile::m * tx - s.pad_w + c;
            if (y < 0 || y >= s.h || x < 0 || x >= s.w) continue;
            T* at = plane + (idx(y) * s.w + x) * L;
            store(at, load(at) + patch[a * r + c]);
          }
      }
  }
}

// The images of group `group`: the first one, and how many (L, or fewer at
// the end of the batch).
struct GroupImages {
  idx first;
  int count;
};

template <typename T>
GroupImages group_images(const Conv2dShape& s, int group) {
  const idx first = idx(group) * Lanes<T>::count;
  return {first, int(std::min<idx>(Lanes<T>::count, s.n - first))};
}

template <typename T>
int group_count(const Conv2dShape& s) {
  return (s.n + Lanes<T>::count - 1) / Lanes<T>::count;
}

// Groups [begin, end) in blocks of up to groups_per_block:
// body(first_group, groups, tile columns).
template <typename T, typename Body>
void for_blocks(const TileGrid& g, int begin, int end, Body&& body) {
  for (int g0 = begin; g0 < end; g0 += g.groups_per_block) {
    const int groups = std::min(g.groups_per_block, end - g0);
    body(g0, groups, idx(groups) * g.per_image * Lanes<T>::count);
  }
}

double direct_macs(const Conv2dShape& s) {
  return double(s.n) * s.c_out * s.out_h() * s.out_w() * s.c_in * 9.0;
}

// What one pass derives from the shape: the tile grid and the sizes of the
// per-thread buffers.
template <typename Tile, typename T>
struct Plan {
  using Points = PointMatrices<Tile, T>;
  static constexpr int L = Lanes<T>::count, points = Points::points;
  TileGrid g;
  idx filters, block_tiles, x_image, y_image;

  Plan(const Conv2dShape& shape, idx target_columns)
      : g(tile_grid<Tile, T>(shape, target_columns)),
        filters(idx(shape.c_out) * shape.c_in),
        block_tiles(g.groups_per_block * g.per_image * L),
        x_image(idx(shape.c_in) * shape.h * shape.w),
        y_image(idx(shape.c_out) * shape.out_h() * shape.out_w()) {}

  T* lane_buffer() const { return scratch<T, 14>(std::max(x_image, y_image) * L); }
  idx column_of(int group_in_block) const { return group_in_block * g.per_image * L; }
};

// V for the `groups` groups from g0 of a block: each group's images into
// lanes, then transformed. (`lanes`: the thread's lane buffer.)
template <typename Tile, typename T>
void block_inputs(const Conv2dShape& s, const Plan<Tile, T>& plan, const T* x, int g0, int groups,
                  T* lanes, const PointMatrices<Tile, T>& v) {
  for (int k = 0; k < groups; ++k) {
    const GroupImages imgs = group_images<T>(s, g0 + k);
    to_lanes(x + imgs.first * plan.x_image, plan.x_image, imgs.count, lanes);
    transform_inputs(s, plan.g, lanes, v, plan.column_of(k));
  }
}

// Y for the same groups from M: the output transform (pooled and rectified
// or not) into lanes, then out of them into y.
template <typename Tile, bool PoolRelu, typename T>
void block_outputs(const Conv2dShape& s, const Plan<Tile, T>& plan, const PointMatrices<Tile, T>& m, int g0,
                   int groups, const T* bias, T* lanes, idx y_image, T* y) {
  for (int k = 0; k < groups; ++k) {
    const GroupImages imgs = group_images<T>(s, g0 + k);
    if constexpr (PoolRelu)
      transform_outputs_pooled(s, plan.g, m, plan.column_of(k), bias, lanes);
    else
      transform_outputs(s, plan.g, m, plan.column_of(k), bias, lanes);
    from_lanes(lanes, y_image, imgs.count, y + imgs.first * y_image);
  }
}

// The same two steps compiled again for AVX2 + FMA, called only where the CPU
// has them: the file is built for baseline x86-64, where a Lanes vector is
// two SSE registers and a·b + c two instructions. `flatten` inlines every
// call inside, so the templates' bodies get this ISA too, and no function
// shared with the baseline code is compiled for it (the linker could pick
// that copy for the baseline callers). Seed CNN layer 1 fused with its pool,
// batch 64, 2 threads (Zen 1): 2.40–2.54 → 2.04–2.28 ms.
template <typename Tile, typename T>
__attribute__((target("avx2,fma"), flatten))
void block_inputs_avx2(const Conv2dShape& s, const Plan<Tile, T>& plan, const T* x, int g0, int groups, T* lanes,
                       const PointMatrices<Tile, T>& v) {
  block_inputs(s, plan, x, g0, groups, lanes, v);
}

template <typename Tile, bool PoolRelu, typename T>
__attribute__((target("avx2,fma"), flatten))
void block_outputs_avx2(const Conv2dShape& s, const Plan<Tile, T>& plan, const PointMatrices<Tile, T>& m, int g0,
                        int groups, const T* bias, T* lanes, idx y_image, T* y) {
  block_outputs<Tile, PoolRelu>(s, plan, m, g0, groups, bias, lanes, y_image, y);
}

// dM for the same groups, from dy.
template <typename Tile, typename T>
void block_output_grads(const Conv2dShape& s, const Plan<Tile, T>& plan, const T* dy, int g0,
                        int groups, T* lanes, const PointMatrices<Tile, T>& dm) {
  for (int k = 0; k < groups; ++k) {
    const GroupImages imgs = group_images<T>(s, g0 + k);
    to_lanes(dy + imgs.first * plan.y_image, plan.y_image, imgs.count, lanes);
    transform_output_grads(s, plan.g, lanes, dm, plan.column_of(k));
  }
}

// The forward pass's α² GEMMs M_ξ = U_ξ·V_ξ over one block. Floats call the
// SGEMM micro-kernel straight on U packed once (in the filter cache) and on V
// as the input transform wrote it, in packed panels of nr columns: nothing is
// packed per block and there are no edge tiles (M has ⌈c_out/mr⌉·mr rows and
// the block's columns are padded to a multiple of nr with zero V columns).
// Seed CNN layer 1 fused with its pool, batch 64, 2 threads (AVX2): 2.66–2.79
// → 2.28–2.49 ms, pack_a, pack_b and edge tiles having taken 11% of it.
// Doubles call dgemm on row-major matrices (mr = 1, nr = 0: no padding).
template <typename T>
struct ForwardGemms;

template <>
struct ForwardGemms<float> {
  const sgemm_detail::MicroKernel& uk = sgemm_detail::active_micro_kernel();
  const int mr = uk.mr, nr = uk.nr;

  template <typename Tile>
  void run(const Conv2dShape& s, const float* u_packed, const PointMatrices<Tile, float>& v,
           const PointMatrices<Tile, float>& m) const {
    const idx a_panels = m.channels / mr, b_panels = v.tiles / nr;
    const idx a_size = idx(mr) * s.c_in, b_size = idx(nr) * s.c_in;
    for (int p = 0; p < PointMatrices<Tile, float>::points; ++p) {
      const float* a = u_packed + p * a_panels * a_size;
      const float* b = v.matrix(p);
      float* c = m.matrix(p);
      for (idx i = 0; i < a_panels; ++i)
        for (idx j = 0; j < b_panels; ++j)
          uk.compute(s.c_in, a + i * a_size, b + j * b_size, c + i * mr * m.tiles + j * nr, m.tiles, 1.0f, 0.0f);
    }
  }
};

template <>
struct ForwardGemms<double> {
  const int mr = 1, nr = 0;

  template <typename Tile>
  void run(const Conv2dShape& s, const double* u, const PointMatrices<Tile, double>& v,
           const PointMatrices<Tile, double>& m) const {
    const idx filters = idx(s.c_out) * s.c_in;
    for (int p = 0; p < PointMatrices<Tile, double>::points; ++p)
      gemm(false, false, s.c_out, int(v.tiles), s.c_in, 1.0, u + p * filters, s.c_in, v.matrix(p), int(v.tiles),
           0.0, m.matrix(p), int(m.tiles));
  }
};

idx round_up(idx n, idx multiple) { return multiple > 0 ? (n + multiple - 1) / multiple * multiple : n; }

// A scratch slot, 64-byte aligned (the micro-kernels load B panels aligned).
template <typename T, int Slot>
T* aligned_scratch(idx count) {
  T* p = scratch<T, Slot>(count + 64 / sizeof(T));
  return reinterpret_cast<T*>((reinterpret_cast<std::uintptr_t>(p) + 63) & ~std::uintptr_t(63));
}

// The forward pass: blocks of groups handed to whichever thread is free; per
// block, the lane transposes and transforms of each group around the α²
// GEMMs. PoolRelu: the output pooled and rectified (transform_outputs_pooled).
template <typename Tile, bool PoolRelu, typename T>
void forward(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y) {
  using P = Plan<Tile, T>;
  const P plan(s, kForwardColumns);
  const idx y_image = PoolRelu ? idx(s.c_out) * (s.out_h() / 2) * (s.out_w() / 2) : plan.y_image;
  const ForwardGemms<T> gemms;
  const idx rows = round_up(s.c_out, gemms.mr), max_columns = round_up(plan.block_tiles, gemms.nr);
  const T* u = transformed_filters<Tile>(s, w, gemms.nr > 0 ? gemms.mr : 0);
  const bool avx2 = std::is_same_v<T, float> && active_simd_level() >= SimdLevel::avx2;
  // Blocks are taken in turn (a forward output does not depend on which
  // thread computed it), at least two per thread.
  const int group_total = group_count<T>(s);
  const int chunk = std::max(1, std::min(plan.g.groups_per_block, group_total / (2 * omp_get_max_threads())));
  for_shared_chunks(group_total, chunk, direct_macs(s), [&](int begin, int end, int) {
    T* v_buffer = aligned_scratch<T, 11>(P::Points::size_for(s.c_in, max_columns));
    T* m_buffer = aligned_scratch<T, 12>(P::Points::size_for(rows, max_columns));
    T* lanes = plan.lane_buffer();
    for_blocks<T>(plan.g, begin, end, [&](int g0, int groups, idx tiles) {
      const idx columns = round_up(tiles, gemms.nr);
      const typename P::Points v(v_buffer, s.c_in, columns, gemms.nr), m(m_buffer, rows, columns);
      if (avx2)
        block_inputs_avx2(s, plan, x, g0, groups, lanes, v);
      else
        block_inputs(s, plan, x, g0, groups, lanes, v);
      if (columns > tiles)
        for (int p = 0; p < P::points; ++p)
          for (int ci = 0; ci < s.c_in; ++ci) std::fill_n(v.at(ci, tiles) + p * v.stride, columns - tiles, T(0));
      gemms.run(s, u, v, m);
      if (avx2)
        block_outputs_avx2<Tile, PoolRelu>(s, plan, m, g0, groups, bias, lanes, y_image, y);
      else
        block_outputs<Tile, PoolRelu>(s, plan, m, g0, groups, bias, lanes, y_image, y);
    });
  });
}

// Both gradients in one sweep (dx or dw may be null): each block's dy tiles
// are transformed once, for the grad-input GEMMs and the grad-weight GEMMs.
template <typename Tile, typename T>
void backward(const Conv2dShape& s, const T* x, const T* dy, const T* w, T* dx, T* dw) {
  using P = Plan<Tile, T>;
  const P plan(s, kBackwardColumns);
  const idx u_size = P::points * plan.filters;
  const T* u = dx ? transformed_filters<Tile>(s, w) : nullptr;
  // One partial dU per thread, summed below in thread order.
  T* partials = dw ? scratch<T, 13>(u_size * omp_get_max_threads()) : nullptr;
  const int chunks = for_image_chunks(group_count<T>(s), direct_macs(s), [&](int begin, int end, int thread) {
    T* dm_buffer = scratch<T, 12>(P::Points::size_for(s.c_out, plan.block_tiles));
    T* v_buffer = scratch<T, 11>(P::Points::size_for(s.c_in, plan.block_tiles));
    T* lanes = plan.lane_buffer();
    for_blocks<T>(plan.g, begin, end, [&](int g0, int groups, idx tiles) {
      // v holds V for grad-weight, then dV for grad-input.
      const typename P::Points dm(dm_buffer, s.c_out, tiles), v(v_buffer, s.c_in, tiles);
      block_output_grads(s, plan, dy, g0, groups, lanes, dm);
      if (dw) {
        block_inputs(s, plan, x, g0, groups, lanes, v);
        T* du = partials + thread * u_size;
        for (int p = 0; p < P::points; ++p)
          gemm(false, true, s.c_out, s.c_in, int(tiles), T(1), dm.matrix(p), int(tiles),
               v.matrix(p), int(tiles), g0 == begin ? T(0) : T(1), du + p * plan.filters, s.c_in);
      }
      if (dx) {
        for (int p = 0; p < P::points; ++p)
          gemm(true, false, s.c_in, int(tiles), s.c_out, T(1), u + p * plan.filters, s.c_in,
               dm.matrix(p), int(tiles), T(0), v.matrix(p), int(tiles));
        for (int k = 0; k < groups; ++k) {
          const GroupImages imgs = group_images<T>(s, g0 + k);
          std::fill_n(lanes, plan.x_image * P::L, T(0));
          transform_input_grads(s, plan.g, v, plan.column_of(k), lanes);
          from_lanes(lanes, plan.x_image, imgs.count, dx + imgs.first * plan.x_image);
        }
      }
    });
  });
  if (!dw) return;
  for (int t = 1; t < chunks; ++t)
    for (idx e = 0; e < u_size; ++e) partials[e] += partials[t * u_size + e];
  // dW[co][ci] = Gᵀ dU[·][co][ci] G.
  for (idx f = 0; f < plan.filters; ++f) {
    T points[P::points];
    for (int p = 0; p < P::points; ++p) points[p] = partials[p * plan.filters + f];
    sandwich<Tile::alpha, 3, typename Tile::FilterAdjoint>(points, dw + 9 * f);
  }
}

void check(const Conv2dShape& s, const char* op, std::initializer_list<const void*> pointers) {
  validate_conv2d_shape(s, op);
  if (!winograd_supports(s))
    throw std::invalid_argument(std::string(op) +
                                ": Winograd needs a 3x3 kernel, stride 1 and dilation 1");
  for (const void* p : pointers)
    if (p == nullptr) throw std::invalid_argument(std::string(op) + ": null pointer argument");
}

// Tiles of one image for a tile size.
template <typename Tile>
long long tiles_per_image(const Conv2dShape& s) {
  return (long long)((s.out_h() + Tile::m - 1) / Tile::m) * ((s.out_w() + Tile::m - 1) / Tile::m);
}

// Transform-domain work of a tile over the whole batch: tiles × α².
template <typename Tile>
long long transform_work(const Conv2dShape& s) {
  return s.n * tiles_per_image<Tile>(s) * Tile::alpha * Tile::alpha;
}

// The forward pass for `tile` (shape and pointers already checked).
template <bool PoolRelu, typename T>
void run_forward(WinogradTile tile, const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y) {
  switch (tile) {
    case WinogradTile::f2x2: return forward<F2x2, PoolRelu>(s, x, w, bias, y);
    case WinogradTile::f4x4: return forward<F4x4, PoolRelu>(s, x, w, bias, y);
    case WinogradTile::f6x6: return forward<F6x6, PoolRelu>(s, x, w, bias, y);
  }
}

// The backward pass for `tile` (shape and pointers already checked; op names
// the caller for the error F(6×6) gets).
template <typename T>
void run_backward(const char* op, WinogradTile tile, const Conv2dShape& s, const T* x, const T* dy, const T* w,
                  T* dx, T* dw) {
  switch (tile) {
    case WinogradTile::f2x2: return backward<F2x2>(s, x, dy, w, dx, dw);
    case WinogradTile::f4x4: return backward<F4x4>(s, x, dy, w, dx, dw);
    case WinogradTile::f6x6: break;
  }
  throw std::invalid_argument(std::string(op) + ": F(6x6, 3x3) tiles are forward only");
}

}  // namespace

bool winograd_supports(const Conv2dShape& s) {
  return s.kh == 3 && s.kw == 3 && s.stride_h == 1 && s.stride_w == 1 && s.dil_h == 1 &&
         s.dil_w == 1;
}

long long winograd_tiles(const Conv2dShape& s, WinogradTile tile) {
  if (tile == WinogradTile::f2x2) return s.n * tiles_per_image<F2x2>(s);
  if (tile == WinogradTile::f4x4) return s.n * tiles_per_image<F4x4>(s);
  return s.n * tiles_per_image<F6x6>(s);
}

WinogradTile winograd_tile_for(const Conv2dShape& s) {
  return transform_work<F4x4>(s) < transform_work<F2x2>(s) ? WinogradTile::f4x4 : WinogradTile::f2x2;
}

WinogradTile winograd_pooled_tile_for(const Conv2dShape& s) {
  const long long least = std::min(transform_work<F4x4>(s), transform_work<F2x2>(s));
  return transform_work<F6x6>(s) < least ? WinogradTile::f6x6 : winograd_tile_for(s);
}

template <typename T>
void winograd_conv2d_forward(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y,
                             WinogradTile tile) {
  check(s, "winograd_conv2d_forward", {x, w, y});
  run_forward<false>(tile, s, x, w, bias, y);
}

template <typename T>
void winograd_conv2d_pool_relu_forward(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y,
                                       WinogradTile tile) {
  constexpr const char* op = "winograd_conv2d_pool_relu_forward";
  check(s, op, {x, w, y});
  if (s.out_h() < 2 || s.out_w() < 2)
    throw std::invalid_argument(std::string(op) + ": a 2x2 pool needs an output of at least 2x2, got " +
                                std::to_string(s.out_h()) + "x" + std::to_string(s.out_w()));
  run_forward<true>(tile, s, x, w, bias, y);
}

template <typename T>
void winograd_conv2d_backward(const Conv2dShape& s, const T* x, const T* dy, const T* w, T* dx,
                              T* dw, WinogradTile tile) {
  constexpr const char* op = "winograd_conv2d_backward";
  if (!dx && !dw) throw std::invalid_argument(std::string(op) + ": neither dx nor dw asked for");
  check(s, op, {dy, dx ? w : dy, dw ? x : dy});
  run_backward(op, tile, s, x, dy, w, dx, dw);
}

template <typename T>
void winograd_conv2d_backward_input(const Conv2dShape& s, const T* dy, const T* w, T* dx,
                                    WinogradTile tile) {
  check(s, "winograd_conv2d_backward_input", {dy, w, dx});
  run_backward<T>("winograd_conv2d_backward_input", tile, s, nullptr, dy, w, dx, nullptr);
}

template <typename T>
void winograd_conv2d_backward_weight(const Conv2dShape& s, const T* x, const T* dy, T* dw,
                                     WinogradTile tile) {
  check(s, "winograd_conv2d_backward_weight", {x, dy, dw});
  run_backward<T>("winograd_conv2d_backward_weight", tile, s, x, dy, nullptr, nullptr, dw);
}

#define GC_INSTANTIATE(T)                                                                         \
  template void winograd_conv2d_forward<T>(const Conv2dShape&, const T*, const T*, const T*, T*,  \
                                           WinogradTile);                                         \
  template void winograd_conv2d_pool_relu_forward<T>(const Conv2dShape&, const T*, const T*,       \
                                                     const T*, T*, WinogradTile);                 \
  template void winograd_conv2d_backward<T>(const Conv2dShape&, const T*, const T*, const T*, T*, \
                                            T*, WinogradTile);                                    \
  template void winograd_conv2d_backward_input<T>(const Conv2dShape&, const T*, const T*, T*,     \
                                                  WinogradTile);                                  \
  template void winograd_conv2d_backward_weight<T>(const Conv2dShape&, const T*, const T*, T*,    \
                                                   WinogradTile);
GC_INSTANTIATE(float)
GC_INSTANTIATE(double)
#undef GC_INSTANTIATE

}  // namespace gc::cpu
