// Element types. Tensors store f32 or bf16 (weights may also be read from f16 files); kernels
// compute in f32 and round to bf16 on store.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace cubist {

enum class DType : uint8_t { F32, BF16 };

inline size_t dtype_size(DType t) { return t == DType::F32 ? 4 : 2; }
inline std::string_view dtype_name(DType t) { return t == DType::F32 ? "f32" : "bf16"; }

// bf16 is the upper half of an f32. Rounding is to nearest even; NaN stays NaN.
inline uint16_t f32_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

inline float bf16_to_f32(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// IEEE half precision, for reading and writing f16 safetensors.
float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);

}  // namespace cubist
