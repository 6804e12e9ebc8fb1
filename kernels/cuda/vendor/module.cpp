// The vendor table as a loadable module: the engine dlopen()s it only when
// `--kernels vendor` is chosen, so a gradcore binary that never asks for
// cuBLAS/cuDNN never maps them (they cost ~200 MB of resident memory and
// 80 ms at start-up).
#include "kernels/cuda/vendor/vendor.h"

extern "C" const gc::cuda::Kernels* gradcore_cuda_vendor_kernels() { return &gc::cuda::vendor::kernels(); }
