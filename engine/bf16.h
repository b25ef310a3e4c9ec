#pragma once
// bfloat16: the upper 16 bits of an IEEE float32 (sign, the same 8 exponent bits, 7 mantissa
// bits). The GPU's mixed precision stores activations in it and computes in float32
// (docs/architecture.md "Precision"); the CPU computes it as float32 too (engine/dispatch.h
// bf16_as_float32). One rounding, shared by both devices: to nearest, ties to even, so a float32
// value changes by at most 2^-8 of itself; NaN stays NaN; the range is float32's (no loss scaling).
#include <cstdint>
#include <cstring>

#include "engine/hd.h"

namespace mm {

struct bf16 {
  uint16_t bits;

  bf16() = default;
  MM_HD explicit bf16(float f) : bits(round(f)) {}
  MM_HD operator float() const {
    const uint32_t u = uint32_t(bits) << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
  }

 private:
  MM_HD static uint16_t round(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return uint16_t((u >> 16) | 0x0040u);  // NaN: keep it a (quiet) NaN
    // add just under half of the dropped 16 bits' unit, plus the kept part's lowest bit: halfway
    // cases then round to the even neighbour
    u += 0x7FFFu + ((u >> 16) & 1u);
    return uint16_t(u >> 16);
  }
};

}  // namespace mm
