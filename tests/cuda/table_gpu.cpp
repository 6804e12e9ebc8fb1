// tests/cuda against the kernels built by nvcc (gc_cuda_gpu), on a real GPU.
#include "tests/cuda/harness.h"

namespace gc::cuda::test {
const Kernels& table() { return gpu::kernels(); }
}  // namespace gc::cuda::test
