// cuDNN max pooling, a baseline for the gpu tests and the benchmarks (not in
// the table: it has no argmax output, see vendor.h).
#include "kernels/cuda/conv_shapes.h"
#include "kernels/cuda/vendor/handles.h"
#include "kernels/cuda/vendor/vendor.h"

namespace gc::cuda::vendor {
namespace {

// The descriptors of one call, destroyed when it returns or throws.
struct PoolDescriptors {
  cudnnPoolingDescriptor_t pool = nullptr;
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  PoolDescriptors() = default;
  PoolDescriptors(const PoolDescriptors&) = delete;
  PoolDescriptors& operator=(const PoolDescriptors&) = delete;
  ~PoolDescriptors() {
    if (pool) cudnnDestroyPoolingDescriptor(pool);
    if (x) cudnnDestroyTensorDescriptor(x);
    if (y) cudnnDestroyTensorDescriptor(y);
  }
};

}  // namespace

void max_pool2d_forward(const cpu::Pool2dShape& s, const float* x, float* y) {
  conv_shapes::validate(s, "max_pool2d_forward (cuDNN)");
  PoolDescriptors d;
  GC_VENDOR_CHECK(cudnnCreatePoolingDescriptor(&d.pool));
  GC_VENDOR_CHECK(cudnnCreateTensorDescriptor(&d.x));
  GC_VENDOR_CHECK(cudnnCreateTensorDescriptor(&d.y));
  GC_VENDOR_CHECK(cudnnSetPooling2dDescriptor(d.pool, CUDNN_POOLING_MAX, CUDNN_PROPAGATE_NAN, s.kh, s.kw, s.pad_h,
                                              s.pad_w, s.stride_h, s.stride_w));
  GC_VENDOR_CHECK(cudnnSetTensor4dDescriptor(d.x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, s.n, s.c, s.h, s.w));
  GC_VENDOR_CHECK(cudnnSetTensor4dDescriptor(d.y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, s.n, s.c,
                                             conv_shapes::out_h(s), conv_shapes::out_w(s)));
  const float one = 1.0f, zero = 0.0f;
  GC_VENDOR_CHECK(cudnnPoolingForward(dnn(), d.pool, &one, d.x, x, &zero, d.y, y));
}

}  // namespace gc::cuda::vendor
