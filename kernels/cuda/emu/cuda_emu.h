// The CUDA emulator: runs .cu kernels compiled by the host C++ compiler on
// the CPU, with CUDA's execution model (blocks of cooperative threads that
// switch only at barriers and warp-level calls). Kernel files include
// kernels/cuda/launch.h, which includes this header when nvcc is not the
// compiler. What kernels may use is listed in docs/CUDA.md.
#pragma once

#include "kernels/cuda/emu/device.h"
#include "kernels/cuda/emu/grid.h"
#include "kernels/cuda/emu/host_api.h"
#include "kernels/cuda/emu/types.h"
