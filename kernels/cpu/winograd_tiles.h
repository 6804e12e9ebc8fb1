// Internal to conv2d_winograd.cpp: the Winograd tile sizes for a 3×3 filter
// (Lavin & Gray, 2016), each as its six 1-D transforms
//   Bᵀ (input), G (filter), Aᵀ (output)   for the forward pass, and
//   B, Gᵀ, A (their transposes)           for the backward passes.
// A 2-D transform X ↦ F·X·Fᵀ applies the 1-D one to rows, then to columns
// (sandwich and Tile2 below). Each apply() computes out = F·in, reading `in`
// with stride is and writing `out` with stride os; T is a scalar or a SIMD
// vector.
//
// F(m×m, 3×3) turns an α×α input patch (α = m + 2) into m×m outputs with α²
// multiplications instead of 9m²: F(2×2) 16 for 4 outputs (2.25× fewer),
// F(3×3) 25 for 9 (3.24× fewer; forward only), F(4×4) 36 for 16 (4× fewer),
// F(6×6) 64 for 36 (5.06× fewer; forward only),
// at the price of larger transforms and of rounding growing with their
// coefficients (up to 8 in F(4×4)'s Aᵀ, 32 in F(6×6)'s).
#pragma once

#include <type_traits>
#include <utility>

namespace gc::cpu::winograd {

// The element type of T: T itself, or the lane type of a vector.
template <typename T>
struct ScalarOf {
  using type = T;
};
template <typename T>
  requires requires(T v) { v[0]; }
struct ScalarOf<T> {
  using type = std::remove_cvref_t<decltype(std::declval<T>()[0])>;
};

// F(2×2, 3×3):
//        ⎡1  0 −1  0⎤        ⎡ 1    0    0 ⎤
//   Bᵀ = ⎢0  1  1  0⎥    G = ⎢1/2  1/2  1/2⎥    Aᵀ = ⎡1 1  1  0⎤
//        ⎢0 −1  1  0⎥        ⎢1/2 −1/2  1/2⎥         ⎣0 1 −1 −1⎦
//        ⎣0  1  0 −1⎦        ⎣ 0    0    1 ⎦
struct F2x2 {
  static constexpr int m = 2, alpha = 4;

  struct Input {  // Bᵀ: 4 → 4
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
  struct Filter {  // G: 3 → 4
    template <typename T>
    static void apply(const T* in, int is, T* out, int os) {
      using S = typename ScalarOf<T>::type;
      const T half_sum = S(0.5) * (in[0] + in[2 * is]);
      out[0] = in[0];
      out[os] = half_sum + S(0.5) * in[is];
      out[2 * os] = half_sum - S(0.5) * in[is];
      out[3 * os] = in[2 * is];
    }
  };
  struct FilterAdjoint {  // Gᵀ: 4 → 3
    template <typename T>
    static void apply(const T* in, int is, T* out, int os) {
      using S = typename ScalarOf<T>::type;
      const T half_sum = S(0.5) * (in[is] + in[2 * is]);
      out[0] = in[0] + half_sum;
      out[os] = S(0.5) * (in[is] - in[2 * is]);
      out[2 * os] = half_sum + in[3 * is];
    }
  };
  struct Output {  // Aᵀ: 4 → 2
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
};

// F(3×3, 3×3), interpolation points 0, 1, −1, 2, ∞; forward only (inference's
// conv2d_inference_forward): a 5×5 patch, exactly the input of a 3×3 output,
// 25 multiplications for 9 outputs where F(4×4) pads to 6×6 and spends 36.
// Derived by the same Toom-Cook construction as F(6×6) below, and checked in
// exact arithmetic; it rounds more tightly than F(4×4) (fp32, random 5×5
// patches: 4.5e-7 against 1.2e-6, median).
//        ⎡2 −1 −2  1 0⎤        ⎡ 1/2    0     0 ⎤
//        ⎢0 −2 −1  1 0⎥        ⎢−1/2  −1/2  −1/2⎥        ⎡1 1  1 1 0⎤
//   Bᵀ = ⎢0  2 −3  1 0⎥    G = ⎢−1/6   1/6  −1/6⎥   Aᵀ = ⎢0 1 −1 2 0⎥
//        ⎢0 −1  0  1 0⎥        ⎢ 1/6   1/3   2/3⎥        ⎣0 1  1 4 1⎦
//        ⎣0  2 −1 −2 1⎦        ⎣  0     0     1 ⎦
struct F3x3 {
  static constexpr int m = 3, alpha = 5;

  struct Input {  // Bᵀ: 5 → 5
    template <typename T>
    static void apply(const T* in, int is, T* out, int os) {
      using S = typename ScalarOf<T>::type;
      const T d0 = in[0], d1 = in[is], d2 = in[2 * is], d3 = in[3 * is], d4 = in[4 * is];
      out[0] = S(2) * (d0 - d2) + (d3 - d1);
      out[os] = (d3 - d2) - S(2) * d1;
      out[2 * os] = S(2) * d1 - S(3) * d2 + d3;
      out[3 * os] = d3 - d1;
      out[4 * os] = S(2) * (d1 - d3) + (d4 - d2);
    }
  };
  struct Filter {  // G: 3 → 5
    template <typename T>
    static void apply(const T* in, int is, T* out, int os) {
      using S = typename ScalarOf<T>::type;
      const T g0 = in[0], g1 = in[is], g2 = in[2 * is];
      out[0] = g0 / S(2);
      out[os] = -(g0 + g1 + g2) / S(2);
      out[2 * os] = (g1 - g0 - g2) / S(6);
      out[3 * os] = (g0 + S(2) * g1 + S(4) * g2) / S(6);
      out[4 * os] = g2;
    }
  };
  struct Output {  // Aᵀ: 5 → 3
    template <typename T>
    static void apply(const T* in, int is, T* out, int os) {
      using S = typename ScalarOf<T>::type;
      const T m0 = in[0], m1 = in[is], m2 = in[2 * is], m3 = in[3 * is], m4 = in[4 * is];
      out[0] = m0 + m1 + m2 + m3;
      out[os] = (m1 - m2) + S(2) * m3;
      out[2 * os] = (m1 + m2) + S(4) * m3 + m4;
    }
  };
};

// F(4×4, 3×3), interpolation points 0, ±1, ±2, ∞:
//        ⎡4  0 −5  0  1  0⎤        ⎡ 1/4    0     0 ⎤
//        ⎢0 −4 −4  1  1  0⎥        ⎢−1/6  −1/6  −1/6⎥        ⎡1 1  1 1  1 0⎤
//   Bᵀ = ⎢0  4 −4 −1  1  0⎥    G = ⎢−1/6   1/6  −1/6⎥   Aᵀ = ⎢0 1 −1 2 −2 0⎥
//        ⎢0 −2 −1  2  1  0⎥        ⎢1/24  1/12   1/6⎥        ⎢0 1  1 4  4 0⎥
//        ⎢0  2 −1 −2  1  0⎥        ⎢1/24 −1/12   1/6⎥        ⎣0 1 −1 8 −8 1⎦
//        ⎣0  4  0 −5  0  1⎦        ⎣  0     0     1 ⎦
struct F4x4 {
  static constexpr int m = 4, alpha = 6;

  struct Input {  // Bᵀ: 6 → 6
    template <typename T>
    static void apply(const T* in, int is, T* out, int os) {
      using S = typename ScalarOf<T>::type;
      const T d0 = in[0], d1 = in[is], d2 = in[2 * is], d3 = in[3 * is], d4 = in[4 * is],
              d5 = in[5 * is];
      out[0] = S(4) * d0 - S(5) * d2 + d4;
      out[os] = (d3 + d4) - S(4) * (d1 + d2);
      out[2 * os] = (d4 - d3) + S(4) * (d1 - d2);
      out[3 * os] = (d4 - d2) + S(2) * (d3 - d1);
      out[4 * os] = (d4 - d2) - S(2) * (d3 - d1);
      out[5 * os] = S(4) * d1 - S(5) * d3 + d5;
    }
  };
  struct InputAdjoint {  // B: 6 → 6
    template <typename T>
    static void apply(const T* in, int is, T* out, int os) {
      using S = typename ScalarOf<T>::type;
      const T x0 = in[0], x1 = in[is], x2 = in[2 * is], x3 = in[3 * is], x4 = in[4 * is],
              x5 = in[5 * is];
      out[0] = S(4) * x0;
      out[os] = S(4) * (x2 - x1) + S(2) * (x4 - x3) + S(4) * x5;
      out[2 * os] = -(S(5) * x0 + S(4) * (x1 + x2) + x3 + x4);
      out[3 * os] = (x1 - x2) + S(2) * (x3 - x4) - S(5) * x5;
      out[4 * os] = x0 + x1 + x2 + x3 + x4;
      out[5 * os] = x5;
    }
  };
  struct Filter {  // G: 3 → 6
    template <typename T>
    static void apply(const T* in, int is, T* out, int os) {
      using S = typename ScalarOf<T>::type;
      const T g0 = in[0], g1 = in[is], g2 = in[2 * is];
      out[0] = g0 / S(4);
      out[os] = -(g0 + g1 + g2) / S(6);
      out[2 * os] = -(g0 - g1 + g2) / S(6);
      out[3 * os] = g0 / S(24) + g1 / S(12) + g2 / S(6);
      out[4 * os] = g0 / S(24) - g1 / S(12) + g2 / S(6);
      out[5 * os] = g2;
    }
  };
  struct FilterAdjoint {  // Gᵀ: 6 → 3
    template <typename T>
    static void apply(const T* in, int is, T* out, int os) {
      using S = typename ScalarOf<T>::type;
      const T x0 = in[0], x1 = in[is], x2 = in[2 * is], x3 = in[3 * is], x4 = in[4 * is],
              x5 = in[5 * is];
      out[0] = x0 / S(4) - (x1 + x2) / S(6) + (x3 + x4) / S(24);
      out[os] = (x2 - x1) / S(6) + (x3 - x4) / S(12);
      out[2 * os] = (x3 + x4 - x1 - x2) / S(6) + x5;
    }
  };
  struct Output {  // Aᵀ: 6 → 4
    template <typename T>
    static void apply(const T* in, int is, T* out, int os) {
      using S = typename ScalarOf<T>::type;
      const T m0 = in[0], m1 = in[is], m2 = in[2 * is], m3 = in[3 * is], m4 = in[4 * is],
              m5 = in[5 * is];
      const T sum12 = m1 + m2, diff12 = m1 - m2, sum34 = m3 + m4, diff34 = m3 - m4;
      out[0] = m0 + sum12 + sum34;
      out[os] = diff12 + S(2) * diff34;
      out[2 * os] = sum12 + S(4) * sum34;
      out[3 * os] = diff12 + S(8) * diff34 + m5;
    }
  };
  struct OutputAdjoint {  // A: 4 → 6
    template <typename T>
    static void apply(const T* in, int is, T* out, int os) {
      using S = typename ScalarOf<T>::type;
      const T x0 = in[0], x1 = in[is], x2 = in[2 * is], x3 = in[3 * is];
      out[0] = x0;
      out[os] = x0 + x1 + x2 + x3;
      out[2 * os] = x0 - x1 + x2 - x3;
      out[3 * os] = x0 + S(2) * x1 + S(4) * x2 + S(8) * x3;
      out[4 * os] = x0 - S(2) * x1 + S(4) * x2 - S(8) * x3;
      out[5 * os] = x3;
    }
  };
};

// F(6×6, 3×3), interpolation points 0, ±1, ±2, ±1/2, ∞; forward only (no
// adjoints: inference's fused conv + pool, conv2d_pool.h). Derived by the
// Toom-Cook construction: Aᵀ[j][i] = p_i^j, G[i][k] = p_i^k / Π_{l≠i}(p_i − p_l),
// Bᵀ row i = the coefficients of Π_{l≠i}(x − p_l), and for ∞ the last column of
// Aᵀ, the last row of G and the coefficients of Π_l (x − p_l) (row 0 of Bᵀ and
// of G both negated). 64 multiplications for 36 outputs (5.06× fewer); the
// coefficients reach 32 in Aᵀ and 21/4 in Bᵀ, so it rounds about 2.5× more
// loosely than F(4×4) (fp32, 32 input channels: 3.4e-6 against 1.3e-6 of the
// largest output, median).
//        ⎡1  0 −21/4    0  21/4    0 −1 0⎤        ⎡  1      0     0  ⎤
//        ⎢0  1    1 −17/4 −17/4    1  1 0⎥        ⎢−2/9  −2/9  −2/9 ⎥
//        ⎢0 −1    1  17/4 −17/4   −1  1 0⎥        ⎢−2/9   2/9  −2/9 ⎥
//   Bᵀ = ⎢0 1/2  1/4  −5/2  −5/4    2  1 0⎥    G = ⎢1/90  1/45  2/45 ⎥
//        ⎢0 −1/2 1/4   5/2  −5/4   −2  1 0⎥        ⎢1/90 −1/45  2/45 ⎥
//        ⎢0  2    4  −5/2    −5  1/2  1 0⎥        ⎢32/45 16/45 8/45 ⎥
//        ⎢0 −2    4   5/2    −5 −1/2  1 0⎥        ⎢32/45 −16/45 8/45⎥
//        ⎣0 −1    0  21/4     0 −21/4 0 1⎦        ⎣  0      0     1  ⎦
//   Aᵀ row j = 0..5: [0^j, 1, (−1)^j, 2^j, (−2)^j, 2^−j, (−1/2)^j, 1 if j = 5 else 0]
//   (0^0 = 1).
struct F6x6 {
  static constexpr int m = 6, alpha = 8;

  struct Input {  // Bᵀ: 8 → 8
    template <typename T>
    static void apply(const T* in, int is, T* out, int os) {
      using S = typename ScalarOf<T>::type;
      const T d0 = in[0], d1 = in[is], d2 = in[2 * is], d3 = in[3 * is], d4 = in[4 * is], d5 = in[5 * is],
              d6 = in[6 * is], d7 = in[7 * is];
      const T odd1 = d1 + d5 - S(4.25) * d3, even1 = d2 + d6 - S(4.25) * d4;
      const T odd2 = S(0.5) * d1 - S(2.5) * d3 + S(2) * d5, even2 = S(0.25) * d2 - S(1.25) * d4 + d6;
      const T odd3 = S(2) * d1 - S(2.5) * d3 + S(0.5) * d5, even3 = S(4) * d2 - S(5) * d4 + d6;
      out[0] = (d0 - d6) + S(5.25) * (d4 - d2);
      out[os] = even1 + odd1;
      out[2 * os] = even1 - odd1;
      out[3 * os] = even2 + odd2;
      out[4 * os] = even2 - odd2;
      out[5 * os] = even3 + odd3;
      out[6 * os] = even3 - odd3;
      out[7 * os] = (d7 - d1) + S(5.25) * (d3 - d5);
    }
  };
  struct Filter {  // G: 3 → 8
    template <typename T>
    static void apply(const T* in, int is, T* out, int os) {
      using S = typename ScalarOf<T>::type;
      const T g0 = in[0], g1 = in[is], g2 = in[2 * is];
      out[0] = g0;
      out[os] = S(-2) * (g0 + g1 + g2) / S(9);
      out[2 * os] = S(-2) * (g0 - g1 + g2) / S(9);
      out[3 * os] = g0 / S(90) + g1 / S(45) + S(2) * g2 / S(45);
      out[4 * os] = g0 / S(90) - g1 / S(45) + S(2) * g2 / S(45);
      out[5 * os] = S(32) * g0 / S(45) + S(16) * g1 / S(45) + S(8) * g2 / S(45);
      out[6 * os] = S(32) * g0 / S(45) - S(16) * g1 / S(45) + S(8) * g2 / S(45);
      out[7 * os] = g2;
    }
  };
  struct Output {  // Aᵀ: 8 → 6
    template <typename T>
    static void apply(const T* in, int is, T* out, int os) {
      using S = typename ScalarOf<T>::type;
      const T m0 = in[0], m7 = in[7 * is];
      const T sum12 = in[is] + in[2 * is], diff12 = in[is] - in[2 * is];
      const T sum34 = in[3 * is] + in[4 * is], diff34 = in[3 * is] - in[4 * is];
      const T sum56 = in[5 * is] + in[6 * is], diff56 = in[5 * is] - in[6 * is];
      out[0] = m0 + sum12 + sum34 + sum56;
      out[os] = diff12 + S(2) * diff34 + S(0.5) * diff56;
      out[2 * os] = sum12 + S(4) * sum34 + S(0.25) * sum56;
      out[3 * os] = diff12 + S(8) * diff34 + S(0.125) * diff56;
      out[4 * os] = sum12 + S(16) * sum34 + S(0.0625) * sum56;
      out[5 * os] = diff12 + S(32) * diff34 + S(0.03125) * diff56 + m7;
    }
  };
};

// z = D · x · Aᵀ for an InH×InW tile x (row-major), D the OutH×InH matrix of
// Down and A the OutW×InW matrix of Across: the rows of x first (x·Aᵀ), then
// the columns of that.
template <int InH, int InW, int OutH, int OutW, typename Down, typename Across, typename T>
void sandwich(const T* x, T* z) {
  T rows[InH * OutW];
  for (int r = 0; r < InH; ++r) Across::apply(x + r * InW, 1, rows + r * OutW, 1);
  for (int c = 0; c < OutW; ++c) Down::apply(rows + c, OutW, z + c, OutW);
}

// A tile of Down::m × Across::m outputs, read from an α_down × α_across
// input patch: Down's transforms run down the columns, Across's along the
// rows. The square tiles are Tile2<F, F>; the fused inference pass also takes
// narrower tiles at its bottom and right edges (conv2d_winograd.h), and
// F(6×6)'s transforms have no adjoints, so only the forward steps compile
// for a tile with F6x6 in it.
template <typename Down, typename Across>
struct Tile2 {
  static constexpr int mh = Down::m, mw = Across::m;          // outputs down, across
  static constexpr int ah = Down::alpha, aw = Across::alpha;  // patch rows, columns
  static constexpr int points = ah * aw;

  template <typename T>
  static void input(const T* d, T* v) {  // V = Bᵀ d B
    sandwich<ah, aw, ah, aw, typename Down::Input, typename Across::Input>(d, v);
  }
  template <typename T>
  static void filter(const T* g, T* u) {  // U = G g Gᵀ
    sandwich<3, 3, ah, aw, typename Down::Filter, typename Across::Filter>(g, u);
  }
  template <typename T>
  static void output(const T* m, T* y) {  // Y = Aᵀ M A
    sandwich<ah, aw, mh, mw, typename Down::Output, typename Across::Output>(m, y);
  }
  template <typename T>
  static void input_adjoint(const T* dv, T* dd) {  // dd = B dV Bᵀ
    sandwich<ah, aw, ah, aw, typename Down::InputAdjoint, typename Across::InputAdjoint>(dv, dd);
  }
  template <typename T>
  static void filter_adjoint(const T* du, T* dg) {  // dg = Gᵀ dU G
    sandwich<ah, aw, 3, 3, typename Down::FilterAdjoint, typename Across::FilterAdjoint>(du, dg);
  }
  template <typename T>
  static void output_adjoint(const T* dy, T* dm) {  // dM = A dY Aᵀ
    sandwich<mh, mw, ah, aw, typename Down::OutputAdjoint, typename Across::OutputAdjoint>(dy, dm);
  }
};

}  // namespace gc::cpu::winograd
