// The CUDA kernel table (kernels/cuda/ops.h) behind tensors on `cuda` and
// `cuda-emu`. cuda-emu runs the very same kernels on the CPU emulator, so
// every CUDA code path works, slowly, on any machine.
#pragma once

#include <string>

#include "engine/dtype.h"
#include "kernels/cuda/ops.h"

namespace gc {

// The kernels for `device` (cuda or cuda-emu). Throws with a clear message
// when the device is not available: a build without nvcc, or no GPU (the
// message names --device cuda-emu), or the vendor set on cuda-emu.
const cuda::Kernels& cuda_kernels(Device device);

// Which kernels back Device::CUDA (`--kernels`): "ours" (the default, our
// hand-written kernels, gc::cuda::gpu::kernels()) or "vendor" (the same
// table with cuBLAS SGEMM and cuDNN convolutions, gc::cuda::vendor::kernels();
// builds with nvcc and cuDNN only). cuBLAS and cuDNN cannot run on the
// emulator, so with "vendor" cuda_kernels(Device::CUDA_EMU) throws. Both sets
// share one allocator: switching between them keeps existing tensors valid.
// Any other name throws std::invalid_argument. Set it before building models.
void set_cuda_kernel_set(const std::string& set);

// Installs a caching allocator over the device's malloc/free; idempotent.
void ensure_device_allocator(Device device);

}  // namespace gc
