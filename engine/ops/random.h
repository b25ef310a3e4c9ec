#pragma once
// Random tensors from a counter-based generator: element i of the stream `seed` is a pure function
// of (seed, i) (Philox-4x32-10, engine/ops/random_math.h), computed the same way on the CPU and the
// GPU, so both devices draw the same numbers. No gradient flows through them.
#include <cstdint>
#include <utility>

#include "engine/tensor.h"

namespace mm {

// The seed of a random op or sampler: `salt`, mixed with `key` when there is one (math::seed_of).
// The key is a one-element I64 tensor where the op runs, which the kernels read when they run:
// the trainer writes each step's key there before the step, so a CUDA graph that captured a step
// (kernel arguments and all) draws new numbers at every replay.
struct Seed {
  uint64_t salt = 0;
  Tensor key;  // undefined: the salt is the seed
  Seed(uint64_t s = 0) : salt(s) {}  // a plain number is a seed
  Seed(uint64_t s, Tensor k) : salt(s), key(std::move(k)) {}
  // The seed on the host (CPU kernels): reads the key, which must be on the host.
  uint64_t value() const;
  // The key's address for a kernel on `device` (nullptr without a key); the key must live there.
  const int64_t* key_on(Device device) const;
};

// Uniform in [0, 1) with 24 random bits (exact in float32): F32 or F64 on `device`.
Tensor random_uniform(const Shape& shape, const Seed& seed, Device device = cpu(), DType dtype = DType::F32);
// 1 with probability p, else 0 (u < p for the uniform u of the same element).
Tensor random_bernoulli(const Shape& shape, double p, const Seed& seed, Device device = cpu(), DType dtype = DType::F32);

}  // namespace mm
