// 2-D convolution (cross-correlation, NCHW) as kernels/cpu/conv2d.h, by
// im2col + our SGEMM (sgemm_v7_warptile) over the whole batch at once:
//   col[K][N], K = c_in·kh·kw, N = n·oh·ow, col[(ci, ki, kj)][(i, oy, ox)] = x at that tap (0 in the padding)
//   forward      Yt[c_out][N] = W[c_out×K] · col,   then y[i][co][·] = Yt[co][(i, ·)] + bias[co]
//   grad-input   dcol = Wᵀ · dYt (dYt = dy as [c_out][N]), then col2im
//   grad-weight  dW = dYt · colᵀ
//   grad-bias    db = sum_to_shape(dy → [1, c_out, 1, 1])
// Why im2col rather than implicit GEMM: every FLOP then runs in the one
// SGEMM the project tunes and tests in seven versions, and the unfold,
// permute and fold kernels are plain elementwise gathers a reader checks at
// a glance. The cost is the col buffer (K·N floats, 18 MB for the seed
// CNN's second layer at batch 128) and its extra global traffic; an
// implicit GEMM would fold the gather into the tile loads. One batch-wide
// GEMM (not one per image) keeps N large when oh·ow is small.
//
// col2im is a gather (each dx element sums the col entries that read it, in
// a fixed order), so no atomics and the same result on every run. Scratch
// lives in the backend's grow-only workspaces.
#include "kernels/cuda/launch.h"

#include "kernels/cuda/backend.h"
#include "kernels/cuda/conv_shapes.h"

namespace gc::cuda::GC_CUDA_NS {
namespace {

// The geometry every kernel needs, by value.
struct Geometry {
  int n, c_in, h, w, c_out, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow;
};

Geometry geometry(const cpu::Conv2dShape& s, const char* op) {
  conv_shapes::validate(s, op);
  return {s.n,        s.c_in,     s.h,     s.w,     s.c_out, s.kh, s.kw, s.stride_h, s.stride_w, s.pad_h, s.pad_w,
          s.dil_h,    s.dil_w,    conv_shapes::out_h(s), conv_shapes::out_w(s)};
}

#define GC_GRID_STRIDE(i, total) \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (total); i += int64_t(gridDim.x) * blockDim.x)

__global__ void im2col_kernel(Geometry g, const float* __restrict__ x, float* __restrict__ col) {
  const int64_t plane = int64_t(g.oh) * g.ow, cols = g.n * plane;
  GC_GRID_STRIDE(e, int64_t(g.c_in) * g.kh * g.kw * cols) {
    const int64_t row = e / cols, rest = e % cols;  // row = (ci, ki, kj), rest = (i, oy, ox)
    const int kj = row % g.kw, ki = (row / g.kw) % g.kh, ci = row / (g.kw * g.kh);
    const int i = rest / plane, oy = (rest % plane) / g.ow, ox = rest % g.ow;
    const int y = oy * g.sh - g.ph + ki * g.dh, xx = ox * g.sw - g.pw + kj * g.dw;
    col[e] = y >= 0 && y < g.h && xx >= 0 && xx < g.w ? x[((int64_t(i) * g.c_in + ci) * g.h + y) * g.w + xx] : 0.0f;
  }
}

// col2im as a gather: dx[i][ci][y][x] = Σ over taps (ki, kj) whose output
// position (oy, ox) reads (y, x) of dcol[(ci, ki, kj)][(i, oy, ox)].
__global__ void col2im_kernel(Geometry g, const float* __restrict__ dcol, float* __restrict__ dx) {
  const int64_t plane = int64_t(g.oh) * g.ow, cols = g.n * plane;
  GC_GRID_STRIDE(e, int64_t(g.n) * g.c_in * g.h * g.w) {
    const int xx = e % g.w, y = (e / g.w) % g.h, ci = (e / (int64_t(g.w) * g.h)) % g.c_in;
    const int i = e / (int64_t(g.w) * g.h * g.c_in);
    float s = 0.0f;
    for (int ki = 0; ki < g.kh; ++ki) {
      const int ty = y + g.ph - ki * g.dh;  // = oy·sh
      if (ty < 0 || ty % g.sh != 0 || ty / g.sh >= g.oh) continue;
      for (int kj = 0; kj < g.kw; ++kj) {
        const int tx = xx + g.pw - kj * g.dw;
        if (tx < 0 || tx % g.sw != 0 || tx / g.sw >= g.ow) continue;
        const int64_t row = (int64_t(ci) * g.kh + ki) * g.kw + kj;
        s += dcol[row * cols + i * plane + (ty / g.sh) * g.ow + tx / g.sw];
      }
    }
    dx[e] = s;
  }
}

// y[i][co][p] = yt[co][i·plane + p] + bias[co] (bias may be null).
__global__ void scatter_output_kernel(Geometry g, const float* __restrict__ yt, const float* __restrict__ bias,
                                      float* __restrict__ y) {
  const int64_t plane = int64_t(g.oh) * g.ow;
  GC_GRID_STRIDE(e, int64_t(g.n) * g.c_out * plane) {
    const int64_t p = e % plane, co = (e / plane) % g.c_out, i = e / (plane * g.c_out);
    y[e] = yt[co * g.n * plane + i * plane + p] + (bias ? bias[co] : 0.0f);
  }
}

// dyt[co][i·plane + p] = dy[i][co][p].
__global__ void gather_output_grad_kernel(Geometry g, const float* __restrict__ dy, float* __restrict__ dyt) {
  const int64_t plane = int64_t(g.oh) * g.ow, cols = g.n * plane;
  GC_GRID_STRIDE(e, g.c_out * cols) {
    const int64_t co = e / cols, i = (e % cols) / plane, p = e % plane;
    dyt[e] = dy[(i * g.c_out + co) * plane + p];
  }
}

#undef GC_GRID_STRIDE

int64_t col_rows(const Geometry& g) { return int64_t(g.c_in) * g.kh * g.kw; }
int64_t col_cols(const Geometry& g) { return int64_t(g.n) * g.oh * g.ow; }

float* columns(const Geometry& g) {
  return static_cast<float*>(workspace(Workspace::conv_columns, col_rows(g) * col_cols(g) * sizeof(float)));
}
float* gemm_buffer(const Geometry& g) {
  return static_cast<float*>(workspace(Workspace::conv_gemm, int64_t(g.c_out) * col_cols(g) * sizeof(float)));
}

}  // namespace

void conv2d_forward(const cpu::Conv2dShape& s, const float* x, const float* w, const float* bias, float* y) {
  const Geometry g = geometry(s, "conv2d_forward");
  const int K = static_cast<int>(col_rows(g)), N = static_cast<int>(col_cols(g));
  float* col = columns(g);
  float* yt = gemm_buffer(g);
  GC_LAUNCH(im2col_kernel, grid_for(int64_t(K) * N), kBlock, 0, nullptr, g, x, col);
  sgemm_v7_warptile(false, false, g.c_out, N, K, 1.0f, w, K, col, N, 0.0f, yt, N);
  GC_LAUNCH(scatter_output_kernel, grid_for(int64_t(g.c_out) * N), kBlock, 0, nullptr, g, yt, bias, y);
}

void conv2d_backward_input(const cpu::Conv2dShape& s, const float* dy, const float* w, float* dx) {
  const Geometry g = geometry(s, "conv2d_backward_input");
  const int K = static_cast<int>(col_rows(g)), N = static_cast<int>(col_cols(g));
  float* dyt = gemm_buffer(g);
  float* dcol = columns(g);
  GC_LAUNCH(gather_output_grad_kernel, grid_for(int64_t(g.c_out) * N), kBlock, 0, nullptr, g, dy, dyt);
  sgemm_v7_warptile(true, false, K, N, g.c_out, 1.0f, w, K, dyt, N, 0.0f, dcol, N);
  GC_LAUNCH(col2im_kernel, grid_for(int64_t(g.n) * g.c_in * g.h * g.w), kBlock, 0, nullptr, g, dcol, dx);
}

void conv2d_backward_weight(const cpu::Conv2dShape& s, const float* x, const float* dy, float* dw) {
  const Geometry g = geometry(s, "conv2d_backward_weight");
  const int K = static_cast<int>(col_rows(g)), N = static_cast<int>(col_cols(g));
  float* col = columns(g);
  float* dyt = gemm_buffer(g);
  GC_LAUNCH(im2col_kernel, grid_for(int64_t(K) * N), kBlock, 0, nullptr, g, x, col);
  GC_LAUNCH(gather_output_grad_kernel, grid_for(int64_t(g.c_out) * N), kBlock, 0, nullptr, g, dy, dyt);
  sgemm_v7_warptile(false, true, g.c_out, K, N, 1.0f, dyt, N, col, N, 0.0f, dw, K);
}

void conv2d_backward_bias(const cpu::Conv2dShape& s, const float* dy, float* db) {
  const Geometry g = geometry(s, "conv2d_backward_bias");
  sum_to_shape(cpu::Dims4{{g.n, g.c_out, g.oh, g.ow}}, dy, cpu::Dims4{{1, g.c_out, 1, 1}}, db);
}

}  // namespace gc::cuda::GC_CUDA_NS
