#pragma once
// Random tensors from a counter-based generator: element i of the stream `seed` is a pure function
// of (seed, i) (Philox-4x32-10, engine/ops/random_math.h), computed the same way on the CPU and the
// GPU, so both devices draw the same numbers. No gradient flows through them.
#include <cstdint>

#include "engine/tensor.h"

namespace mm {

// Uniform in [0, 1) with 24 random bits (exact in float32): F32 or F64 on `device`.
Tensor random_uniform(const Shape& shape, uint64_t seed, Device device = cpu(), DType dtype = DType::F32);
// 1 with probability p, else 0 (u < p for the uniform u of the same element).
Tensor random_bernoulli(const Shape& shape, double p, uint64_t seed, Device device = cpu(), DType dtype = DType::F32);

}  // namespace mm
