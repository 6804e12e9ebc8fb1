// The CUDA kernel table (kernels/cuda/ops.h) behind tensors on `cuda` and
// `cuda-emu`. cuda-emu runs the very same kernels on the CPU emulator, so
// every CUDA code path works, slowly, on any machine.
#pragma once

#include "engine/dtype.h"
#include "kernels/cuda/ops.h"

namespace gc {

// The kernels for `device` (cuda or cuda-emu). Throws with a clear message
// when the device is not available: a build without nvcc, or no GPU (the
// message names --device cuda-emu).
const cuda::Kernels& cuda_kernels(Device device);

// Installs a caching allocator over the device's malloc/free; idempotent.
void ensure_device_allocator(Device device);

}  // namespace gc
