#include "layers/dropout.h"

#include "engine/ops.h"
#include "engine/rng.h"

namespace mm {

Dropout::Dropout(double p_) : p(p_) { MM_CHECK(0 <= p && p < 1, "dropout: p = {} is not in [0, 1)", p); }

void Dropout::reseed(const Seed& seed) { seed_ = seed, calls_ = 0; }

Tensor Dropout::forward(const Tensor& x) {
  if (!is_training() || p == 0) return x;
  const Seed stream(seeded_rng({seed_.salt, calls_++}).next_u64(), seed_.key);
  const Tensor kept = random_bernoulli(x.shape(), 1 - p, stream, x.device(), x.dtype());  // no gradient
  return mul(x, scale(kept, 1 / (1 - p)));
}

}  // namespace mm
