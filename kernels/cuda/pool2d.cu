// 2-D max and average pooling (NCHW) as kernels/cpu/pool2d.h. Forward: one
// thread per output, scanning its window (clipped to the image) in
// row-major order, with the CPU's rules: the first maximum wins ties, a NaN
// wins and propagates; the average divides by kh·kw (padding counts as 0).
// Backward: one thread per input element gathers from the windows that
// cover it, in (oy, ox) order: no atomics, the same result on every run,
// and the same additions in the same order as the CPU's scatter.
// max_pool2d_backward skips an argmax that does not point at the element
// (the CPU throws on an argmax outside its plane; the forward never writes one).
#include "kernels/cuda/launch.h"

#include "kernels/cuda/backend.h"
#include "kernels/cuda/conv_shapes.h"

namespace gc::cuda::GC_CUDA_NS {
namespace {

struct Geometry {
  int planes, h, w, kh, kw, sh, sw, ph, pw, oh, ow;
};

Geometry geometry(const cpu::Pool2dShape& s, const char* op) {
  conv_shapes::validate(s, op);
  return {s.n * s.c, s.h, s.w, s.kh, s.kw, s.stride_h, s.stride_w, s.pad_h, s.pad_w, conv_shapes::out_h(s),
          conv_shapes::out_w(s)};
}

#define GC_GRID_STRIDE(i, total) \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (total); i += int64_t(gridDim.x) * blockDim.x)

// The window of output (oy, ox), clipped to the image: rows [y0, y1), columns [x0, x1).
struct Window {
  int y0, y1, x0, x1;
};
__device__ __forceinline__ Window window_of(const Geometry& g, int oy, int ox) {
  const int y = oy * g.sh - g.ph, x = ox * g.sw - g.pw;
  return {max(y, 0), min(y + g.kh, g.h), max(x, 0), min(x + g.kw, g.w)};
}

// The outputs whose windows cover input row y: [first, last] clipped to [0, out).
__device__ __forceinline__ void covering(int y, int pad, int k, int stride, int out, int& first, int& last) {
  const int top = y + pad;  // oy·stride ≤ top < oy·stride + k
  first = top - k + 1 <= 0 ? 0 : (top - k + 1 + stride - 1) / stride;
  last = min(top / stride, out - 1);
}

__global__ void max_pool_forward_kernel(Geometry g, const float* __restrict__ x, float* __restrict__ y,
                                        int32_t* __restrict__ argmax) {
  GC_GRID_STRIDE(e, int64_t(g.planes) * g.oh * g.ow) {
    const int ox = e % g.ow, oy = (e / g.ow) % g.oh;
    const float* plane = x + (e / (int64_t(g.ow) * g.oh)) * g.h * g.w;
    const Window win = window_of(g, oy, ox);
    int best_at = win.y0 * g.w + win.x0;
    float best = plane[best_at];
    for (int r = win.y0; r < win.y1; ++r)
      for (int q = win.x0; q < win.x1; ++q) {
        const float v = plane[r * g.w + q];
        if (v > best || (v != v && best == best)) {
          best = v;
          best_at = r * g.w + q;
        }
      }
    y[e] = best;
    argmax[e] = best_at;
  }
}

__global__ void max_pool_backward_kernel(Geometry g, const float* __restrict__ dy, const int32_t* __restrict__ argmax,
                                         float* __restrict__ dx) {
  GC_GRID_STRIDE(e, int64_t(g.planes) * g.h * g.w) {
    const int xx = e % g.w, yy = (e / g.w) % g.h;
    const int64_t out_plane = (e / (int64_t(g.w) * g.h)) * g.oh * g.ow;
    int oy0, oy1, ox0, ox1;
    covering(yy, g.ph, g.kh, g.sh, g.oh, oy0, oy1);
    covering(xx, g.pw, g.kw, g.sw, g.ow, ox0, ox1);
    float s = 0.0f;
    for (int oy = oy0; oy <= oy1; ++oy)
      for (int ox = ox0; ox <= ox1; ++ox) {
        const int64_t o = out_plane + oy * g.ow + ox;
        if (argmax[o] == yy * g.w + xx) s += dy[o];
      }
    dx[e] = s;
  }
}

__global__ void avg_pool_forward_kernel(Geometry g, const float* __restrict__ x, float* __restrict__ y) {
  const float inv_area = 1.0f / float(g.kh * g.kw);
  GC_GRID_STRIDE(e, int64_t(g.planes) * g.oh * g.ow) {
    const int ox = e % g.ow, oy = (e / g.ow) % g.oh;
    const float* plane = x + (e / (int64_t(g.ow) * g.oh)) * g.h * g.w;
    const Window win = window_of(g, oy, ox);
    float s = 0.0f;
    for (int r = win.y0; r < win.y1; ++r)
      for (int q = win.x0; q < win.x1; ++q) s += plane[r * g.w + q];
    y[e] = s * inv_area;
  }
}

__global__ void avg_pool_backward_kernel(Geometry g, const float* __restrict__ dy, float* __restrict__ dx) {
  const float inv_area = 1.0f / float(g.kh * g.kw);
  GC_GRID_STRIDE(e, int64_t(g.planes) * g.h * g.w) {
    const int xx = e % g.w, yy = (e / g.w) % g.h;
    const float* out_plane = dy + (e / (int64_t(g.w) * g.h)) * g.oh * g.ow;
    int oy0, oy1, ox0, ox1;
    covering(yy, g.ph, g.kh, g.sh, g.oh, oy0, oy1);
    covering(xx, g.pw, g.kw, g.sw, g.ow, ox0, ox1);
    float s = 0.0f;
    for (int oy = oy0; oy <= oy1; ++oy)
      for (int ox = ox0; ox <= ox1; ++ox) s += out_plane[oy * g.ow + ox];
    dx[e] = s * inv_area;
  }
}

#undef GC_GRID_STRIDE

int64_t outputs(const Geometry& g) { return int64_t(g.planes) * g.oh * g.ow; }
int64_t inputs(const Geometry& g) { return int64_t(g.planes) * g.h * g.w; }

}  // namespace

void max_pool2d_forward(const cpu::Pool2dShape& s, const float* x, float* y, int32_t* argmax) {
  const Geometry g = geometry(s, "max_pool2d_forward");
  GC_LAUNCH(max_pool_forward_kernel, grid_for(outputs(g)), kBlock, 0, nullptr, g, x, y, argmax);
}

void max_pool2d_backward(const cpu::Pool2dShape& s, const float* dy, const int32_t* argmax, float* dx) {
  const Geometry g = geometry(s, "max_pool2d_backward");
  GC_LAUNCH(max_pool_backward_kernel, grid_for(inputs(g)), kBlock, 0, nullptr, g, dy, argmax, dx);
}

void avg_pool2d_forward(const cpu::Pool2dShape& s, const float* x, float* y) {
  const Geometry g = geometry(s, "avg_pool2d_forward");
  GC_LAUNCH(avg_pool_forward_kernel, grid_for(outputs(g)), kBlock, 0, nullptr, g, x, y);
}

void avg_pool2d_backward(const cpu::Pool2dShape& s, const float* dy, float* dx) {
  const Geometry g = geometry(s, "avg_pool2d_backward");
  GC_LAUNCH(avg_pool_backward_kernel, grid_for(inputs(g)), kBlock, 0, nullptr, g, dy, dx);
}

}  // namespace gc::cuda::GC_CUDA_NS
