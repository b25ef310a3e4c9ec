#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/bf16.h"

namespace mm {

// F32: activations and parameters. F64: the CPU kernels are templated on the scalar type so the
// gradient checker can run them in double. I64: labels and permutations. U8: raw images.
// BF16: activations of a network in bfloat16 (--precision bf16; engine/bf16.h).
enum class DType { F32, F64, I64, U8, BF16 };

inline size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F64: return 8;
    case DType::I64: return 8;
    case DType::U8: return 1;
    case DType::BF16: return 2;
  }
  return 0;
}

// Names as safetensors spells them.
inline std::string dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F64: return "F64";
    case DType::I64: return "I64";
    case DType::U8: return "U8";
    case DType::BF16: return "BF16";
  }
  return "?";
}

// The dtype that arithmetic on `t` runs in, and that its per-channel statistics and parameters
// keep: bfloat16 is a storage format, computed in float32.
inline DType compute_dtype(DType t) { return t == DType::BF16 ? DType::F32 : t; }

template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::F32; }
template <> constexpr DType dtype_of<double>() { return DType::F64; }
template <> constexpr DType dtype_of<int64_t>() { return DType::I64; }
template <> constexpr DType dtype_of<uint8_t>() { return DType::U8; }
template <> constexpr DType dtype_of<bf16>() { return DType::BF16; }

}  // namespace mm
