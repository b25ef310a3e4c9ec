#pragma once
// Parameter initialisation helpers.
#include "engine/rng.h"
#include "engine/tensor.h"

namespace mm {

// A float32 CPU tensor with values uniform in [-bound, bound).
inline Tensor uniform_tensor(const Shape& shape, double bound, Rng& rng) {
  Tensor t = Tensor::empty(shape);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<float>(rng.uniform(-bound, bound));
  return t;
}

}  // namespace mm
