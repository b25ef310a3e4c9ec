// Random tensors (no autograd). No device code: engine/ops/random_kernels.h runs them.
#include "engine/ops/random.h"

#include "engine/ops/random_kernels.h"
#include "engine/ops/random_math.h"

namespace mm {

uint64_t Seed::value() const {
  MM_CHECK(!key.defined() || (key.device().is_cpu() && key.dtype() == DType::I64 && key.numel() == 1),
           "a seed's key read on the host must be one I64 value on the host");
  return math::seed_of(key.defined() ? key.data<int64_t>() : nullptr, salt);
}

const int64_t* Seed::key_on(Device device) const {
  if (!key.defined()) return nullptr;
  MM_CHECK(key.device() == device && key.dtype() == DType::I64 && key.numel() == 1,
           "a seed's key must be one I64 value where the op runs");
  return key.data<int64_t>();
}

Tensor random_uniform(const Shape& shape, const Seed& seed, Device device, DType dtype) {
  Tensor y = Tensor::empty(shape, dtype, device);
  kernels::random_uniform(seed, y);
  return y;
}

Tensor random_bernoulli(const Shape& shape, double p, const Seed& seed, Device device, DType dtype) {
  MM_CHECK(0 <= p && p <= 1, "random_bernoulli: p = {} is not a probability", p);
  Tensor y = Tensor::empty(shape, dtype, device);
  kernels::random_bernoulli(seed, p, y);
  return y;
}

}  // namespace mm
