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
using winograd::F3x3;
using winograd::F4x4;
using winograd::F6x6;
using winograd::Tile2;

// Groups per block are chosen so a block has about this many tile columns
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
// last group short of L images has zero lanes, which stay zero through every
// step (and add nothing to grad-weight).
//
// A pass covers the output with up to four parts, each one tile kind over
// one window: th × tw tiles of mh × mw outputs, the first at output
// (y0, x0). A part's tile columns in a block are
// t = (group·P + ty·tw + tx)·L + lane, P = th·tw.
struct TilePart {
  int mh, mw, y0, x0, th, tw;
  idx per_image() const { return idx(th) * tw; }
};

// At most four parts: the full tiles, and the narrower ones at the bottom,
// at the right and in the corner (pooled_parts).
struct TileParts {
  TilePart part[4];
  int count = 0;
  idx per_image() const {
    idx tiles = 0;
    for (int p = 0; p < count; ++p) tiles += part[p].per_image();
    return tiles;
  }
};

// The whole output in m×m tiles, the last row and column of tiles reaching
// past it where m does not divide it (conv2d_forward and the backward passes).
TileParts square_parts(const Conv2dShape& s, int m) {
  TileParts parts;
  parts.part[parts.count++] = {m, m, 0, 0, (s.out_h() + m - 1) / m, (s.out_w() + m - 1) / m};
  return parts;
}

// The pooled pass needs only the 2⌊out/2⌋ outputs its 2×2 windows read
// along each axis: `full` tiles of m, then, where m does not divide that, one
// tile of the (even) rest, 2 or 4, so no tile reaches past it. Seed CNN
// layer 1 (11×11, 10 read) with F(6×6): one 6×6, one 6×4, one 4×6 and one
// 4×4 tile per image, (8 + 6)² = 196 transform points where 2×2 F(6×6)
// tiles had 256.
struct Cover {
  int full, rest;
};
Cover pooled_cover(int out, int m) { return {(out / 2 * 2) / m, (out / 2 * 2) % m}; }

TileParts pooled_parts(const Conv2dShape& s, int m) {
  const Cover down = pooled_cover(s.out_h(), m), across = pooled_cover(s.out_w(), m);
  TileParts parts;
  auto add = [&](int mh, int mw, int y0, int x0, int th, int tw) {
    if (mh > 0 && mw > 0 && th > 0 && tw > 0) parts.part[parts.count++] = {mh, mw, y0, x0, th, tw};
  };
  add(m, m, 0, 0, down.full, across.full);
  add(m, across.rest, 0, m * across.full, down.full, 1);
  add(down.rest, m, m * down.full, 0, 1, across.full);
  add(down.rest, across.rest, m * down.full, m * across.full, 1, 1);
  return parts;
}

// Calls f(Tile2<Down, Across>{}) for a part's tile sizes: 2, 4 or 6 each,
// or, with Rectangles false, only the square tiles (mh = mw), 3×3 included.
template <typename Down, typename F>
decltype(auto) with_across(int mw, F&& f) {
  if (mw == 2) return f(Tile2<Down, F2x2>{});
  if (mw == 4) return f(Tile2<Down, F4x4>{});
  return f(Tile2<Down, F6x6>{});
}

template <bool Rectangles, typename F>
decltype(auto) with_tile(const TilePart& part, F&& f) {
  if constexpr (Rectangles) {
    if (part.mh == 2) return with_across<F2x2>(part.mw, f);
    if (part.mh == 4) return with_across<F4x4>(part.mw, f);
    return with_across<F6x6>(part.mw, f);
  } else {
    if (part.mh == 2) return f(Tile2<F2x2, F2x2>{});
    if (part.mh == 3) return f(Tile2<F3x3, F3x3>{});
    if (part.mh == 4) return f(Tile2<F4x4, F4x4>{});
    return f(Tile2<F6x6, F6x6>{});
  }
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

// A block in the transform domain: for each of the α_h·α_w points ξ a channels ×
// tiles matrix, the matrices `stride` elements apart. A matrix is row-major
// (row stride `tiles`), or, with a panel width W, cut into column panels of
// W, each stored channels × W row-major: the micro-kernel's packed B layout
// (sgemm_kernel.h), which the float forward pass writes V in. The stride is
// padded past a multiple of 4 KiB: with c·tiles·4 bytes a multiple of 4 KiB
// (64·288·4 is), the α² streams of a transform all map to one L1 set and
// evict each other (measured: the transforms ran 2× slower).
template <typename Tile, typename T>
struct PointMatrices {
  static constexpr int points = Tile::points;
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
  constexpr int L = Lanes<T>::count, points = Tile::points;
  const idx filters = idx(s.c_out) * s.c_in;
  for (idx f0 = 0; f0 < filters; f0 += L) {
    const int count = int(std::min<idx>(L, filters - f0));
    T lanes[9 * L], out[L];
    to_lanes(w + 9 * f0, 9, count, lanes);
    Vec<T> g[9], z[points];
    for (int k = 0; k < 9; ++k) g[k] = load(lanes + k * L);
    Tile::filter(g, z);
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
// weight sets, each with U for every tile it was asked for; with pack_mr > 0
// U packed for a micro-kernel of mr rows (pack_filters), else U as it is.
// Inference runs the same few layers' weights again and again (the seed CNN
// layer 1's four tiles of one set), and a training step's backward pass sees
// the weights its forward pass did. A set is used only when the weights
// equal, bit for bit, the copy it was made from (compared once per pass,
// however many tiles it takes), so a changed weight can never be served a
// stale U; a miss costs that copy besides the transform. Weight sets over
// kCachedFiltersMax filters are transformed into a pass's own buffers
// instead. Seed CNN layer 2 (64→64 on 5×5, 36·4096 transformed weights),
// batch 128, 2 threads: forward 1.35 → 0.98 ms (bench_conv2d), the transform
// having run alone.
constexpr int kCachedFilterSets = 4;
constexpr idx kCachedFiltersMax = 128 * 128;

template <typename T>
class FilterCache {
 public:
  // The weights of one pass: U per tile, cached or in `spill` of the pass.
  class Weights {
   public:
    template <typename Tile>
    const T* transformed(int pack_mr, std::vector<T>& spill) {
      constexpr int points = Tile::points, kind = 16 * Tile::mh + Tile::mw;
      const idx u_size = points * filters();
      if (set_ == nullptr) {
        spill.resize(u_size + (pack_mr > 0 ? packed_filters_size(s_, points, pack_mr) : 0));
        transform_filters<Tile>(s_, w_, spill.data());
        if (pack_mr == 0) return spill.data();
        pack_filters(s_, points, spill.data(), pack_mr, spill.data() + u_size);
        return spill.data() + u_size;
      }
      auto hit = std::find_if(set_->tiles.begin(), set_->tiles.end(), [&](const Tiled& t) { return t.kind == kind; });
      if (hit == set_->tiles.end()) {
        hit = set_->tiles.insert(set_->tiles.end(), Tiled{kind, 0, std::vector<T>(u_size), {}});
        transform_filters<Tile>(s_, w_, hit->u.data());
      }
      if (pack_mr > 0 && hit->packed_mr != pack_mr) {
        hit->packed.resize(packed_filters_size(s_, points, pack_mr));
        pack_filters(s_, points, hit->u.data(), pack_mr, hit->packed.data());
        hit->packed_mr = pack_mr;
      }
      return pack_mr > 0 ? hit->packed.data() : hit->u.data();
    }

   private:
    friend class FilterCache;
    struct Tiled {
      int kind, packed_mr;
      std::vector<T> u, packed;
    };
    struct Set {
      int c_out = 0, c_in = 0;
      std::vector<T> w;
      std::vector<Tiled> tiles;
    };
    Weights(const Conv2dShape& s, const T* w, Set* set) : s_(s), w_(w), set_(set) {}
    idx filters() const { return idx(s_.c_out) * s_.c_in; }
    const Conv2dShape& s_;
    const T* w_;
    Set* set_;  // null: not cached
  };

  // w's set, found by comparing the weights, or made (the least recently
  // used set dropped). The calling thread's cache; valid until its next call.
  static Weights lookup(const Conv2dShape& s, const T* w) {
    using Set = typename Weights::Set;
    if (idx(s.c_out) * s.c_in > kCachedFiltersMax) return Weights(s, w, nullptr);
    const idx w_size = 9 * idx(s.c_out) * s.c_in;
    thread_local std::array<Set, kCachedFilterSets> sets;  // the most recently used first
    auto hit = std::find_if(sets.begin(), sets.end(), [&](const Set& e) {
      return e.c_out == s.c_out && e.c_in == s.c_in && std::memcmp(e.w.data(), w, w_size * sizeof(T)) == 0;
    });
    if (hit == sets.end()) {
      hit = sets.end() - 1;
      hit->c_out = s.c_out;
      hit->c_in = s.c_in;
      hit->w.assign(w, w + w_size);
      hit->tiles.clear();
    }
    std::rotate(sets.begin(), hit, hit + 1);
    return Weights(s, w, &sets.front());
  }
};

// The four tile steps, for one group of L images and one part: from or to
// lane-layout planes, and the group's tile columns starting at column0 of
// the part's matrices.

// V = Bᵀ d B per tile and input channel; d is the α_h×α_w patch at
// (y0 + mh·ty − pad, x0 + mw·tx − pad), zero outside the plane.
template <typename Tile, typename T>
void transform_inputs(const Conv2dShape& s, const TilePart& part, const T* xl,
                      const PointMatrices<Tile, T>& v, idx column0) {
  constexpr int L = Lanes<T>::count, ah = Tile::ah, aw = Tile::aw;
  for (int ci = 0; ci < s.c_in; ++ci) {
    const T* plane = xl + idx(ci) * s.h * s.w * L;
    idx column = column0;
    for (int ty = 0; ty < part.th; ++ty)
      for (int tx = 0; tx < part.tw; ++tx, column += L) {
        T* dst = v.at(ci, column);
        Vec<T> d[ah * aw], z[ah * aw];
        for (int r = 0; r < ah; ++r)
          for (int c = 0; c < aw; ++c) {
            const int y = part.y0 + Tile::mh * ty - s.pad_h + r, x = part.x0 + Tile::mw * tx - s.pad_w + c;
            const bool inside = y >= 0 && y < s.h && x >= 0 && x < s.w;
            d[aw * r + c] = inside ? load(plane + (idx(y) * s.w + x) * L) : Vec<T>{};
          }
        Tile::input(d, z);
        for (int p = 0; p < ah * aw; ++p) store(dst + p * v.stride, z[p]);
      }
  }
}

// Aᵀ M A for every tile of every output channel: emit(co, oy, ox, out)
// receives each tile's mh×mw outputs (lane vectors, row-major) and the
// output position of its first.
template <typename Tile, typename T, typename Emit>
void for_each_output_tile(const Conv2dShape& s, const TilePart& part, const PointMatrices<Tile, T>& m,
                          idx column0, Emit&& emit) {
  constexpr int L = Lanes<T>::count;
  for (int co = 0; co < s.c_out; ++co) {
    const T* src = m.channel(co) + column0;
    for (int ty = 0; ty < part.th; ++ty)
      for (int tx = 0; tx < part.tw; ++tx, src += L) {
        Vec<T> points[Tile::points], out[Tile::mh * Tile::mw];
        for (int p = 0; p < Tile::points; ++p) points[p] = load(src + p * m.stride);
        Tile::output(points, out);
        emit(co, part.y0 + Tile::mh * ty, part.x0 + Tile::mw * tx, out);
      }
  }
}

// y = Aᵀ M A + bias per tile and output channel, the outputs inside
// out_h × out_w kept.
template <typename Tile, typename T>
void transform_outputs(const Conv2dShape& s, const TilePart& part, const PointMatrices<Tile, T>& m,
                       idx column0, const T* bias, T* yl) {
  constexpr int L = Lanes<T>::count, mh = Tile::mh, mw = Tile::mw;
  const int oh = s.out_h(), ow = s.out_w();
  for_each_output_tile(s, part, m, column0, [&](int co, int oy, int ox, const Vec<T>* out) {
    T* plane = yl + idx(co) * oh * ow * L;
    const T b = bias ? bias[co] : T(0);
    for (int r = 0; r < mh && oy + r < oh; ++r)
      for (int c = 0; c < mw && ox + c < ow; ++c) store(plane + (idx(oy + r) * ow + ox + c) * L, out[mw * r + c] + b);
  });
}

template <typename V>
V vmax(V a, V b) {
  return a > b ? a : b;
}

// The same, then max over each 2×2 window and rectified, into lane-layout
// planes of ⌊out_h/2⌋ × ⌊out_w/2⌋ (conv2d_winograd_pool_relu_forward): the
// pooled parts (pooled_parts) have even tiles from even positions, inside
// the windows' outputs, so a tile holds its windows whole. The bias goes in
// after the max, which gives the same value (rounding is monotonic).
template <typename Tile, typename T>
void transform_outputs_pooled(const Conv2dShape& s, const TilePart& part, const PointMatrices<Tile, T>& m,
                              idx column0, const T* bias, T* yl) {
  constexpr int L = Lanes<T>::count, mw = Tile::mw;
  static_assert(Tile::mh % 2 == 0 && mw % 2 == 0, "a pool window must lie in one tile");
  const int ph = s.out_h() / 2, pw = s.out_w() / 2;
  for_each_output_tile(s, part, m, column0, [&](int co, int oy, int ox, const Vec<T>* out) {
    T* plane = yl + (idx(co) * ph * pw + idx(oy / 2) * pw + ox / 2) * L;
    const Vec<T> b = Vec<T>{} + (bias ? bias[co] : T(0)), zero{};
    for (int r = 0; r < Tile::mh / 2; ++r)
      for (int c = 0; c < mw / 2; ++c) {
        const Vec<T>* top = out + 2 * r * mw + 2 * c;
        const Vec<T> most = vmax(vmax(top[0], top[1]), vmax(top[mw], top[mw + 1]));
        store(plane + (idx(r) * pw + c) * L, vmax(most + b, zero));
      }
  });
}

// dM = A dY Aᵀ per tile and output channel, dY the tile's m×m of dy (zero
// past the edge).
template <typename Tile, typename T>
void transform_output_grads(const Conv2dShape& s, const TilePart& part, const T* dyl,
                            const PointMatrices<Tile, T>& dm, idx column0) {
  constexpr int L = Lanes<T>::count, mh = Tile::mh, mw = Tile::mw;
  const int oh = s.out_h(), ow = s.out_w();
  for (int co = 0; co < s.c_out; ++co) {
    const T* plane = dyl + idx(co) * oh * ow * L;
    T* dst = dm.channel(co) + column0;
    for (int ty = 0; ty < part.th; ++ty)
      for (int tx = 0; tx < part.tw; ++tx, dst += L) {
        Vec<T> grad[mh * mw], z[Tile::points];
        for (int r = 0; r < mh; ++r)
          for (int c = 0; c < mw; ++c) {
            const int oy = part.y0 + mh * ty + r, ox = part.x0 + mw * tx + c;
            grad[mw * r + c] = (oy < oh && ox < ow) ? load(plane + (idx(oy) * ow + ox) * L) : Vec<T>{};
          }
        Tile::output_adjoint(grad, z);
        for (int p = 0; p < Tile::points; ++p) store(dst + p * dm.stride, z[p]);
      }
  }
}

// dx += B dV Bᵀ per tile and input channel, placed at the tile's patch
// (the padding dropped). Patches overlap; the adds run in a fixed order.
template <typename Tile, typename T>
void transform_input_grads(const Conv2dShape& s, const TilePart& part, const PointMatrices<Tile, T>& dv,
                           idx column0, T* dxl) {
  constexpr int L = Lanes<T>::count, ah = Tile::ah, aw = Tile::aw;
  for (int ci = 0; ci < s.c_in; ++ci) {
    T* plane = dxl + idx(ci) * s.h * s.w * L;
    const T* src = dv.channel(ci) + column0;
    for (int ty = 0; ty < part.th; ++ty)
      for (int tx = 0; tx < part.tw; ++tx, src += L) {
        Vec<T> points[Tile::points], patch[Tile::points];
        for (int p = 0; p < Tile::points; ++p) points[p] = load(src + p * dv.stride);
        Tile::input_adjoint(points, patch);
        for (int r = 0; r < ah; ++r)
          for (int c = 0; c < aw; ++c) {
            const int y = part.y0 + Tile::mh * ty - s.pad_h + r, x = part.x0 + Tile::mw * tx - s.pad_w + c;
            if (y < 0 || y >= s.h || x < 0 || x >= s.w) continue;
            T* at = plane + (idx(y) * s.w + x) * L;
            store(at, load(at) + patch[aw * r + c]);
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

// What a pass derives from the shape and its parts: the block size and the
// sizes of the per-thread buffers.
template <typename T>
struct Plan {
  static constexpr int L = Lanes<T>::count;
  TileParts parts;
  int groups_per_block;
  idx filters, x_image, y_image;

  Plan(const Conv2dShape& shape, const TileParts& tile_parts, idx target_columns)
      : parts(tile_parts),
        groups_per_block(int(std::max<idx>(1, target_columns / (tile_parts.per_image() * L)))),
        filters(idx(shape.c_out) * shape.c_in),
        x_image(idx(shape.c_in) * shape.h * shape.w),
        y_image(idx(shape.c_out) * shape.out_h() * shape.out_w()) {}

  T* lane_buffer() const { return scratch<T, 14>(std::max(x_image, y_image) * L); }
  // Part p's tile columns of `groups` groups: where group `groups` of a
  // block starts, and how many a block of that many groups has.
  idx columns(int p, int groups) const { return idx(groups) * parts.part[p].per_image() * L; }
};

// Groups [begin, end) in blocks of up to groups_per_block: body(first_group, groups).
template <typename T, typename Body>
void for_blocks(const Plan<T>& plan, int begin, int end, Body&& body) {
  for (int g0 = begin; g0 < end; g0 += plan.groups_per_block) body(g0, std::min(plan.groups_per_block, end - g0));
}

double direct_macs(const Conv2dShape& s) {
  return double(s.n) * s.c_out * s.out_h() * s.out_w() * s.c_in * 9.0;
}

// The output transform of one part, pooled and rectified or not.
template <typename Tile, bool PoolRelu, typename T>
void part_outputs(const Conv2dShape& s, const TilePart& part, const PointMatrices<Tile, T>& m, idx column0,
                  const T* bias, T* yl) {
  if constexpr (PoolRelu)
    transform_outputs_pooled(s, part, m, column0, bias, yl);
  else
    transform_outputs(s, part, m, column0, bias, yl);
}

// The forward transforms compiled again for AVX2 + FMA, called only where the
// CPU has them: the file is built for baseline x86-64, where a Lanes vector is
// two SSE registers and a·b + c two instructions. `flatten` inlines every
// call inside, so the templates' bodies get this ISA too, and no function
// shared with the baseline code is compiled for it (the linker could pick
// that copy for the baseline callers). Seed CNN layer 1 fused with its pool,
// batch 64, 2 threads (Zen 1): 2.40–2.54 → 2.04–2.28 ms.
template <typename Tile, typename T>
__attribute__((target("avx2,fma"), flatten))
void transform_inputs_avx2(const Conv2dShape& s, const TilePart& part, const T* xl, const PointMatrices<Tile, T>& v,
                           idx column0) {
  transform_inputs(s, part, xl, v, column0);
}

template <typename Tile, bool PoolRelu, typename T>
__attribute__((target("avx2,fma"), flatten))
void part_outputs_avx2(const Conv2dShape& s, const TilePart& part, const PointMatrices<Tile, T>& m, idx column0,
                       const T* bias, T* yl) {
  part_outputs<Tile, PoolRelu>(s, part, m, column0, bias, yl);
}

// The forward pass's α_h·α_w GEMMs M_ξ = U_ξ·V_ξ of one part over one block. Floats call the
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
// block, each group's images into lanes and through every part's input
// transform, each part's GEMMs, then each group's output transforms and out
// of lanes. PoolRelu: the output pooled and rectified
// (transform_outputs_pooled), the parts pooled_parts'; otherwise one square
// part.
template <bool PoolRelu, typename T>
void forward(const Conv2dShape& s, const TileParts& parts, const T* x, const T* w, const T* bias, T* y) {
  const Plan<T> plan(s, parts, kForwardColumns);
  const idx y_image = PoolRelu ? idx(s.c_out) * (s.out_h() / 2) * (s.out_w() / 2) : plan.y_image;
  const ForwardGemms<T> gemms;
  const idx rows = round_up(s.c_out, gemms.mr);
  // Per part: its U, and where its V and M start in the thread's buffers
  // (multiples of 16 elements, so each stays 64-byte aligned).
  struct PartData {
    const T* u;
    idx v_offset, m_offset;
  };
  PartData data[4];
  std::vector<T> spill[4];
  typename FilterCache<T>::Weights weights = FilterCache<T>::lookup(s, w);
  idx v_size = 0, m_size = 0;
  for (int p = 0; p < parts.count; ++p)
    with_tile<PoolRelu>(parts.part[p], [&](auto tile) {
      using Points = PointMatrices<decltype(tile), T>;
      const idx max_columns = round_up(plan.columns(p, plan.groups_per_block), gemms.nr);
      const T* u = weights.template transformed<decltype(tile)>(gemms.nr > 0 ? gemms.mr : 0, spill[p]);
      data[p] = {u, v_size, m_size};
      v_size += Points::size_for(s.c_in, max_columns);
      m_size += Points::size_for(rows, max_columns);
    });
  const bool avx2 = std::is_same_v<T, float> && active_simd_level() >= SimdLevel::avx2;
  // Blocks are taken in turn (a forward output does not depend on which
  // thread computed it), at least two per thread.
  const int group_total = group_count<T>(s);
  const int chunk = std::max(1, std::min(plan.groups_per_block, group_total / (2 * omp_get_max_threads())));
  for_shared_chunks(group_total, chunk, direct_macs(s), [&](int begin, int end, int) {
    T* v_buffer = aligned_scratch<T, 11>(v_size);
    T* m_buffer = aligned_scratch<T, 12>(m_size);
    T* lanes = plan.lane_buffer();
    for_blocks(plan, begin, end, [&](int g0, int groups) {
      // Part p's V and M for this block, as the tile type's matrices.
      auto matrices = [&](int p, auto tile) {
        using Points = PointMatrices<decltype(tile), T>;
        const idx columns = round_up(plan.columns(p, groups), gemms.nr);
        return std::pair{Points(v_buffer + data[p].v_offset, s.c_in, columns, gemms.nr),
                         Points(m_buffer + data[p].m_offset, rows, columns)};
      };
      for (int k = 0; k < groups; ++k) {
        const GroupImages imgs = group_images<T>(s, g0 + k);
        to_lanes(x + imgs.first * plan.x_image, plan.x_image, imgs.count, lanes);
        for (int p = 0; p < parts.count; ++p)
          with_tile<PoolRelu>(parts.part[p], [&](auto tile) {
            const auto v = matrices(p, tile).first;
            if (avx2)
              transform_inputs_avx2(s, parts.part[p], lanes, v, plan.columns(p, k));
            else
              transform_inputs(s, parts.part[p], lanes, v, plan.columns(p, k));
          });
      }
      for (int p = 0; p < parts.count; ++p)
        with_tile<PoolRelu>(parts.part[p], [&](auto tile) {
          const auto [v, m] = matrices(p, tile);
          const idx tiles = plan.columns(p, groups);
          for (int point = 0; point < v.points; ++point)
            for (int ci = 0; ci < s.c_in; ++ci)
              std::fill_n(v.at(ci, tiles) + point * v.stride, v.tiles - tiles, T(0));
          gemms.run(s, data[p].u, v, m);
        });
      for (int k = 0; k < groups; ++k) {
        const GroupImages imgs = group_images<T>(s, g0 + k);
        for (int p = 0; p < parts.count; ++p)
          with_tile<PoolRelu>(parts.part[p], [&](auto tile) {
            using Tile = decltype(tile);
            const auto m = matrices(p, tile).second;
            if (avx2)
              part_outputs_avx2<Tile, PoolRelu>(s, parts.part[p], m, plan.columns(p, k), bias, lanes);
            else
              part_outputs<Tile, PoolRelu>(s, parts.part[p], m, plan.columns(p, k), bias, lanes);
          });
        from_lanes(lanes, y_image, imgs.count, y + imgs.first * y_image);
      }
    });
  });
}

// Both gradients in one sweep (dx or dw may be null): each block's dy tiles
// are transformed once, for the grad-input GEMMs and the grad-weight GEMMs.
// Tile is square; one part covers the output.
template <typename Tile, typename T>
void backward(const Conv2dShape& s, const T* x, const T* dy, const T* w, T* dx, T* dw) {
  using Points = PointMatrices<Tile, T>;
  const Plan<T> plan(s, square_parts(s, Tile::mh), kBackwardColumns);
  const TilePart& part = plan.parts.part[0];
  const idx u_size = Points::points * plan.filters;
  std::vector<T> spill;
  const T* u = dx ? FilterCache<T>::lookup(s, w).template transformed<Tile>(0, spill) : nullptr;
  // One partial dU per thread, summed below in thread order.
  T* partials = dw ? scratch<T, 13>(u_size * omp_get_max_threads()) : nullptr;
  const idx block_tiles = plan.columns(0, plan.groups_per_block);
  const int chunks = for_image_chunks(group_count<T>(s), direct_macs(s), [&](int begin, int end, int thread) {
    T* dm_buffer = scratch<T, 12>(Points::size_for(s.c_out, block_tiles));
    T* v_buffer = scratch<T, 11>(Points::size_for(s.c_in, block_tiles));
    T* lanes = plan.lane_buffer();
    for_blocks(plan, begin, end, [&](int g0, int groups) {
      const idx tiles = plan.columns(0, groups);
      // v holds V for grad-weight, then dV for grad-input.
      const Points dm(dm_buffer, s.c_out, tiles), v(v_buffer, s.c_in, tiles);
      for (int k = 0; k < groups; ++k) {
        const GroupImages imgs = group_images<T>(s, g0 + k);
        to_lanes(dy + imgs.first * plan.y_image, plan.y_image, imgs.count, lanes);
        transform_output_grads(s, part, lanes, dm, plan.columns(0, k));
      }
      if (dw) {
        for (int k = 0; k < groups; ++k) {
          const GroupImages imgs = group_images<T>(s, g0 + k);
          to_lanes(x + imgs.first * plan.x_image, plan.x_image, imgs.count, lanes);
          transform_inputs(s, part, lanes, v, plan.columns(0, k));
        }
        T* du = partials + thread * u_size;
        for (int p = 0; p < Points::points; ++p)
          gemm(false, true, s.c_out, s.c_in, int(tiles), T(1), dm.matrix(p), int(tiles),
               v.matrix(p), int(tiles), g0 == begin ? T(0) : T(1), du + p * plan.filters, s.c_in);
      }
      if (dx) {
        for (int p = 0; p < Points::points; ++p)
          gemm(true, false, s.c_in, int(tiles), s.c_out, T(1), u + p * plan.filters, s.c_in,
               dm.matrix(p), int(tiles), T(0), v.matrix(p), int(tiles));
        for (int k = 0; k < groups; ++k) {
          const GroupImages imgs = group_images<T>(s, g0 + k);
          std::fill_n(lanes, plan.x_image * plan.L, T(0));
          transform_input_grads(s, part, v, plan.columns(0, k), lanes);
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
    T points[Points::points];
    for (int p = 0; p < Points::points; ++p) points[p] = partials[p * plan.filters + f];
    Tile::filter_adjoint(points, dw + 9 * f);
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

int tile_size(WinogradTile tile) {
  switch (tile) {
    case WinogradTile::f2x2: return 2;
    case WinogradTile::f3x3: return 3;
    case WinogradTile::f4x4: return 4;
    case WinogradTile::f6x6: break;
  }
  return 6;
}

// Transform-domain work of a pass over the whole batch: Σ tiles × α_h·α_w.
long long transform_work(const Conv2dShape& s, const TileParts& parts) {
  long long work = 0;
  for (int p = 0; p < parts.count; ++p)
    work += parts.part[p].per_image() * (parts.part[p].mh + 2) * (parts.part[p].mw + 2);
  return s.n * work;
}

// Of `tiles`, the one whose parts (square_parts or pooled_parts) have the
// least transform-domain work; ties go to the earlier.
WinogradTile least_work(const Conv2dShape& s, std::initializer_list<WinogradTile> tiles,
                        TileParts (*parts)(const Conv2dShape&, int)) {
  WinogradTile best = *tiles.begin();
  for (WinogradTile tile : tiles)
    if (transform_work(s, parts(s, tile_size(tile))) < transform_work(s, parts(s, tile_size(best)))) best = tile;
  return best;
}

// The forward pass for `tile` (shape and pointers already checked).
template <bool PoolRelu, typename T>
void run_forward(WinogradTile tile, const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y) {
  const int m = tile_size(tile);
  forward<PoolRelu>(s, PoolRelu ? pooled_parts(s, m) : square_parts(s, m), x, w, bias, y);
}

// The backward pass for `tile` (shape and pointers already checked; op names
// the caller for the error F(6×6) gets).
template <typename T>
void run_backward(const char* op, WinogradTile tile, const Conv2dShape& s, const T* x, const T* dy, const T* w,
                  T* dx, T* dw) {
  switch (tile) {
    case WinogradTile::f2x2: return backward<Tile2<F2x2, F2x2>>(s, x, dy, w, dx, dw);
    case WinogradTile::f4x4: return backward<Tile2<F4x4, F4x4>>(s, x, dy, w, dx, dw);
    case WinogradTile::f3x3:
    case WinogradTile::f6x6: break;
  }
  const int m = tile_size(tile);
  throw std::invalid_argument(std::string(op) + ": F(" + std::to_string(m) + "x" + std::to_string(m) +
                              ", 3x3) tiles are forward only");
}

}  // namespace

bool winograd_supports(const Conv2dShape& s) {
  return s.kh == 3 && s.kw == 3 && s.stride_h == 1 && s.stride_w == 1 && s.dil_h == 1 &&
         s.dil_w == 1;
}

long long winograd_tiles(const Conv2dShape& s, WinogradTile tile) {
  return s.n * square_parts(s, tile_size(tile)).per_image();
}

WinogradTile winograd_tile_for(const Conv2dShape& s) {
  return least_work(s, {WinogradTile::f2x2, WinogradTile::f4x4}, square_parts);
}

WinogradTile winograd_inference_tile_for(const Conv2dShape& s) {
  return least_work(s, {WinogradTile::f2x2, WinogradTile::f3x3, WinogradTile::f4x4}, square_parts);
}

WinogradTile winograd_pooled_tile_for(const Conv2dShape& s) {
  return least_work(s, {WinogradTile::f2x2, WinogradTile::f4x4, WinogradTile::f6x6}, pooled_parts);
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
  if (tile == WinogradTile::f3x3)
    throw std::invalid_argument(std::string(op) + ": F(3x3, 3x3) tiles are odd, so a pool window can straddle two");
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
