// Element types and devices a tensor can have.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

namespace gc {

// float32 is what models train in; float64 exists so every op's backward can be
// checked against finite differences in double precision.
enum class DType { F32, F64 };

inline size_t dtype_size(DType t) { return t == DType::F32 ? 4 : 8; }
inline const char* dtype_name(DType t) { return t == DType::F32 ? "f32" : "f64"; }

template <typename T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::F32; }
template <> constexpr DType dtype_of<double>() { return DType::F64; }

// Calls fn.template operator()<T>() with T = float or double, matching dtype:
//   dispatch_dtype(x.dtype(), [&]<typename T>() { kernel<T>(x.data<T>(), ...); });
template <typename Fn>
decltype(auto) dispatch_dtype(DType t, Fn&& fn) {
  if (t == DType::F32) return fn.template operator()<float>();
  return fn.template operator()<double>();
}

// cpu: our CPU kernels. cuda: our CUDA kernels on a GPU. cuda-emu: the same
// CUDA kernels run on the CPU by the emulator (kernels/cuda/emu).
enum class Device { CPU, CUDA, CUDA_EMU };

inline const char* device_name(Device d) {
  switch (d) {
    case Device::CPU: return "cpu";
    case Device::CUDA: return "cuda";
    case Device::CUDA_EMU: return "cuda-emu";
  }
  return "?";
}

inline Device parse_device(const std::string& s) {
  if (s == "cpu") return Device::CPU;
  if (s == "cuda") return Device::CUDA;
  if (s == "cuda-emu") return Device::CUDA_EMU;
  throw std::invalid_argument("unknown device '" + s + "' (expected cpu, cuda or cuda-emu)");
}

}  // namespace gc
