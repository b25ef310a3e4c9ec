#include "layers/linear.h"

#include <cmath>

#include "engine/ops.h"
#include "layers/init.h"

namespace mm {

Linear::Linear(int in, int out, Rng& rng) {
  const double bound = 1.0 / std::sqrt(double(in));
  weight = register_parameter("weight", uniform_tensor({out, in}, bound, rng));
  bias = register_parameter("bias", uniform_tensor({out}, bound, rng));
}

Tensor Linear::forward(const Tensor& x) const { return linear(x, weight, bias); }

}  // namespace mm
