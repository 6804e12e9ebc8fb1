// The table of kernels/cuda/ops.h for this variant: gc::cuda::emu::kernels()
// when built for the emulator, gc::cuda::gpu::kernels() when built by nvcc.
#include "kernels/cuda/launch.h"

#include "kernels/cuda/backend.h"

namespace gc::cuda::GC_CUDA_NS {
namespace {

const SgemmVersion kSgemmVersions[] = {
    {"v1_naive", "one thread per element, threads down a column (uncoalesced)", sgemm_v1_naive},
    {"v2_coalesced", "threads along a row of C: coalesced B loads and C stores", sgemm_v2_coalesced},
    {"v3_shared", "32x32 tiles of A and B in shared memory", sgemm_v3_shared},
    {"v4_blocktile_1d", "64x64 block tile, 8 results per thread (a column)", sgemm_v4_blocktile_1d},
    {"v5_blocktile_2d", "128x128 block tile, 8x8 results per thread", sgemm_v5_blocktile_2d},
    {"v6_vectorized", "v5 with float4 global and shared loads", sgemm_v6_vectorized},
    {"v7_warptile", "warp tiles, double-buffered tiles, conflict-free float4 reads", sgemm_v7_warptile},
};

}  // namespace

const Kernels& kernels() {
  static const Kernels table = {
#if defined(__CUDACC__)
      "cuda",
#else
      "cuda-emu",
#endif
      device_count,
      device_malloc,
      device_free,
      copy_to_device,
      copy_to_host,
      copy_device,
      fill,
      synchronize,
      sgemm_v7_warptile,
      kSgemmVersions,
      static_cast<int>(sizeof(kSgemmVersions) / sizeof(kSgemmVersions[0])),
      conv2d_forward,
      conv2d_backward_input,
      conv2d_backward_weight,
      conv2d_backward_bias,
      max_pool2d_forward,
      max_pool2d_backward,
      avg_pool2d_forward,
      avg_pool2d_backward,
      relu_forward,
      relu_backward,
      tanh_forward,
      tanh_backward,
      sigmoid_forward,
      sigmoid_backward,
      binary_forward,
      sum_to_shape,
      scale,
      axpy,
      mul_elementwise,
      sum,
      log_softmax_forward,
      log_softmax_backward,
      softmax_cross_entropy_forward,
      softmax_cross_entropy_backward,
      dropout_forward,
      dropout_backward,
      sgd_update,
      adam_update,
  };
  return table;
}

}  // namespace gc::cuda::GC_CUDA_NS
