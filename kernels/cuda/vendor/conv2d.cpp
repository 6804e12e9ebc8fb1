// cuDNN convolutions for the table's conv2d entries (NCHW float,
// cross-correlation, as kernels/cpu/conv2d.h). The legacy convolution API
// that cuDNN 9 keeps: cudnnConvolutionForward / BackwardData /
// BackwardFilter / BackwardBias.
//
// Per shape, the descriptors and the algorithm of each direction are made
// once and cached (a training run has a handful of shapes). The algorithm is
// cuDNN's heuristic pick (cudnnGet*Algorithm_v7, what PyTorch does without
// cudnn.benchmark): the first one that cuDNN reports usable and that is not a
// Tensor Core one. The descriptor is in CUDNN_FMA_MATH, so cuDNN runs FP32
// FMA kernels only (no TF32). Algorithms that accumulate with atomics may
// make grad-weight differ in the last bits from run to run.
#include <array>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>

#include "kernels/cuda/conv_shapes.h"
#include "kernels/cuda/vendor/handles.h"
#include "kernels/cuda/vendor/vendor.h"

namespace gc::cuda::vendor {
namespace {

struct Conv {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr, bias = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  // The chosen algorithm and its workspace, per direction; found on first use.
  struct Choice {
    bool found = false;
    int algo = 0;
    size_t bytes = 0;
  } forward, data, filter;

  explicit Conv(const cpu::Conv2dShape& s) {
    GC_VENDOR_CHECK(cudnnCreateTensorDescriptor(&x));
    GC_VENDOR_CHECK(cudnnCreateTensorDescriptor(&y));
    GC_VENDOR_CHECK(cudnnCreateTensorDescriptor(&bias));
    GC_VENDOR_CHECK(cudnnCreateFilterDescriptor(&w));
    GC_VENDOR_CHECK(cudnnCreateConvolutionDescriptor(&conv));
    GC_VENDOR_CHECK(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, s.n, s.c_in, s.h, s.w));
    GC_VENDOR_CHECK(cudnnSetFilter4dDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, s.c_out, s.c_in, s.kh, s.kw));
    GC_VENDOR_CHECK(cudnnSetConvolution2dDescriptor(conv, s.pad_h, s.pad_w, s.stride_h, s.stride_w, s.dil_h,
                                                    s.dil_w, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    GC_VENDOR_CHECK(cudnnSetConvolutionMathType(conv, CUDNN_FMA_MATH));
    GC_VENDOR_CHECK(cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, s.n, s.c_out,
                                               conv_shapes::out_h(s), conv_shapes::out_w(s)));
    GC_VENDOR_CHECK(cudnnSetTensor4dDescriptor(bias, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, s.c_out, 1, 1));
  }
  ~Conv() {
    cudnnDestroyTensorDescriptor(x);
    cudnnDestroyTensorDescriptor(y);
    cudnnDestroyTensorDescriptor(bias);
    cudnnDestroyFilterDescriptor(w);
    cudnnDestroyConvolutionDescriptor(conv);
  }
  Conv(const Conv&) = delete;
  Conv& operator=(const Conv&) = delete;
};

// The descriptors for s, made on first use (one host thread, see handles.h).
Conv& conv_for(const cpu::Conv2dShape& s, const char* op) {
  conv_shapes::validate(s, op);
  static std::map<std::array<int, 13>, std::unique_ptr<Conv>> cache;
  const std::array<int, 13> key = {s.n,        s.c_in,     s.h,     s.w,     s.c_out, s.kh,   s.kw,
                                   s.stride_h, s.stride_w, s.pad_h, s.pad_w, s.dil_h, s.dil_w};
  std::unique_ptr<Conv>& entry = cache[key];
  if (!entry) entry = std::make_unique<Conv>(s);
  return *entry;
}

// The first usable, non-Tensor-Core algorithm of cuDNN's ranked list.
template <typename Perf>
Conv::Choice pick(const Perf* perf, int count, const char* direction) {
  for (int i = 0; i < count; ++i)
    if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].mathType != CUDNN_TENSOR_OP_MATH &&
        perf[i].mathType != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION)
      return {true, static_cast<int>(perf[i].algo), perf[i].memory};
  throw std::runtime_error(std::string("cuDNN offers no FP32 FMA algorithm for the convolution's ") + direction);
}

const float kOne = 1.0f, kZero = 0.0f;

}  // namespace

void conv2d_forward(const cpu::Conv2dShape& s, const float* x, const float* w, const float* bias, float* y) {
  Conv& d = conv_for(s, "conv2d_forward (cuDNN)");
  if (!d.forward.found) {
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int count = 0;
    GC_VENDOR_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(dnn(), d.x, d.w, d.conv, d.y,
                                                           CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &count, perf));
    d.forward = pick(perf, count, "forward");
  }
  GC_VENDOR_CHECK(cudnnConvolutionForward(dnn(), &kOne, d.x, x, d.w, w, d.conv,
                                          static_cast<cudnnConvolutionFwdAlgo_t>(d.forward.algo),
                                          workspace(d.forward.bytes), d.forward.bytes, &kZero, d.y, y));
  if (bias) GC_VENDOR_CHECK(cudnnAddTensor(dnn(), &kOne, d.bias, bias, &kOne, d.y, y));
}

void conv2d_backward_input(const cpu::Conv2dShape& s, const float* dy, const float* w, float* dx) {
  Conv& d = conv_for(s, "conv2d_backward_input (cuDNN)");
  if (!d.data.found) {
    cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    int count = 0;
    GC_VENDOR_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(dnn(), d.w, d.y, d.conv, d.x,
                                                                CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &count, perf));
    d.data = pick(perf, count, "grad-input");
  }
  GC_VENDOR_CHECK(cudnnConvolutionBackwardData(dnn(), &kOne, d.w, w, d.y, dy, d.conv,
                                               static_cast<cudnnConvolutionBwdDataAlgo_t>(d.data.algo),
                                               workspace(d.data.bytes), d.data.bytes, &kZero, d.x, dx));
}

void conv2d_backward_weight(const cpu::Conv2dShape& s, const float* x, const float* dy, float* dw) {
  Conv& d = conv_for(s, "conv2d_backward_weight (cuDNN)");
  if (!d.filter.found) {
    cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    int count = 0;
    GC_VENDOR_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(
        dnn(), d.x, d.y, d.conv, d.w, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &count, perf));
    d.filter = pick(perf, count, "grad-weight");
  }
  GC_VENDOR_CHECK(cudnnConvolutionBackwardFilter(dnn(), &kOne, d.x, x, d.y, dy, d.conv,
                                                 static_cast<cudnnConvolutionBwdFilterAlgo_t>(d.filter.algo),
                                                 workspace(d.filter.bytes), d.filter.bytes, &kZero, d.w, dw));
}

void conv2d_backward_bias(const cpu::Conv2dShape& s, const float* dy, float* db) {
  Conv& d = conv_for(s, "conv2d_backward_bias (cuDNN)");
  GC_VENDOR_CHECK(cudnnConvolutionBackwardBias(dnn(), &kOne, d.y, dy, &kZero, d.bias, db));
}

}  // namespace gc::cuda::vendor
