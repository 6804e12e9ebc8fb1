// GC_CUDA_NS: the namespace the CUDA backend's symbols live in, one per
// compiler, so the emulated kernels (host compiler) and the real ones (nvcc)
// link into one binary without clashing:
//   gc::cuda::emu   every kernels/cuda/*.cu built for the emulator (gc_cuda_emu*)
//   gc::cuda::gpu   the same sources built by nvcc (gc_cuda_gpu)
// Each variant's entry point is GC_CUDA_NS::kernels() (kernels/cuda/ops.h).
#pragma once

#if defined(__CUDACC__)
#define GC_CUDA_NS gpu
#else
#define GC_CUDA_NS emu
#endif
