// gc::cuda::vendor::kernels(): our GPU table with cuBLAS SGEMM and cuDNN
// convolutions in place of ours (vendor.h says why pooling stays ours).
#include "kernels/cuda/vendor/vendor.h"

namespace gc::cuda::vendor {
namespace {

// The table's one "version": tools that list a table's SGEMM versions show
// what its sgemm is, and the last entry is the table's sgemm as ops.h says.
const SgemmVersion kCublas[] = {
    {"cublas", "cuBLAS SGEMM, FP32 in CUBLAS_DEFAULT_MATH (no TF32)", sgemm},
};

}  // namespace

const Kernels& kernels() {
  static const Kernels table = [] {
    Kernels k = gpu::kernels();
    k.name = "cuda-vendor";
    k.sgemm = sgemm;
    k.sgemm_versions = kCublas;
    k.sgemm_version_count = 1;
    k.conv2d_forward = conv2d_forward;
    k.conv2d_backward_input = conv2d_backward_input;
    k.conv2d_backward_weight = conv2d_backward_weight;
    k.conv2d_backward_bias = conv2d_backward_bias;
    return k;
  }();
  return table;
}

}  // namespace gc::cuda::vendor
