// Random tensors (no autograd). No device code: engine/ops/random_kernels.h runs them.
#include "engine/ops/random.h"

#include "engine/ops/random_kernels.h"

namespace mm {

Tensor random_uniform(const Shape& shape, uint64_t seed, Device device, DType dtype) {
  Tensor y = Tensor::empty(shape, dtype, device);
  kernels::random_uniform(seed, y);
  return y;
}

Tensor random_bernoulli(const Shape& shape, double p, uint64_t seed, Device device, DType dtype) {
  MM_CHECK(0 <= p && p <= 1, "random_bernoulli: p = {} is not a probability", p);
  Tensor y = Tensor::empty(shape, dtype, device);
  kernels::random_bernoulli(seed, p, y);
  return y;
}

}  // namespace mm
