// tests/cuda against the emulated kernels (gc_cuda_emu and its sanitizer variants).
#include "tests/cuda/harness.h"

namespace gc::cuda::test {
const Kernels& table() { return emu::kernels(); }
}  // namespace gc::cuda::test
