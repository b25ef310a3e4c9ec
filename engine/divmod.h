#pragma once
// Division by a divisor fixed at run time through one multiplication and one shift, for the index
// math of the GPU kernels (engine/cuda/context.cuh, map_columns): a GPU has no integer divider, and
// a 64-bit i % C costs dozens of instructions, more than the loads and the store of a memory-bound
// kernel that needs each element's channel.
//
// Granlund and Montgomery (1994), "Division by invariant integers using multiplication": for a
// divisor d in [1, 2^31), shift = ceil(log2 d) and multiplier = floor(2^32 (2^shift - d) / d) + 1,
//   n / d = (mulhi(n, multiplier) + n) >> shift   for every n in [0, 2^31),
// mulhi being the high 32 bits of the 64-bit product. (mulhi(n, multiplier) < n, so the sum stays
// below 2^32.) tests/test_tensor.cpp checks it against the division on the host, whose arithmetic the
// GPU's __umulhi repeats.
#include <cstdint>

#include "engine/error.h"
#include "engine/hd.h"

namespace mm {

class Divisor {
 public:
  explicit Divisor(int64_t divisor) : divisor_(uint32_t(divisor)) {
    MM_CHECK(divisor >= 1 && divisor < (int64_t(1) << 31), "Divisor: {} is outside [1, 2^31)", divisor);
    while ((uint64_t(1) << shift_) < uint64_t(divisor)) ++shift_;
    multiplier_ = uint32_t((uint64_t(1) << 32) * ((uint64_t(1) << shift_) - divisor_) / divisor_ + 1);
  }
  // n / divisor and n % divisor, for n in [0, 2^31)
  MM_HD uint32_t quotient(uint32_t n) const { return (high_product(n, multiplier_) + n) >> shift_; }
  MM_HD uint32_t remainder(uint32_t n) const { return n - quotient(n) * divisor_; }

 private:
  MM_HD static uint32_t high_product(uint32_t a, uint32_t b) {
#if defined(__CUDA_ARCH__)
    return __umulhi(a, b);
#else
    return uint32_t((uint64_t(a) * b) >> 32);
#endif
  }
  uint32_t divisor_, multiplier_ = 0, shift_ = 0;
};

}  // namespace mm
