#include "layers/conv2d.h"

#include <cmath>

#include "engine/ops.h"
#include "layers/init.h"

namespace mm {

Conv2d::Conv2d(int in, int out, int kernel, int stride_, int pad_, bool with_bias, Rng& rng)
    : stride(stride_), pad(pad_) {
  const double bound = 1.0 / std::sqrt(double(in) * kernel * kernel);
  weight = register_parameter("weight", uniform_tensor({out, kernel, kernel, in}, bound, rng), FileLayout::ConvWeight);
  if (with_bias) bias = register_parameter("bias", uniform_tensor({out}, bound, rng));
}

// In a bfloat16 network (models/network.h) the float32 weights are cast to bfloat16 for each
// forward; their gradients come back through the cast in float32.
Tensor Conv2d::forward(const Tensor& x) const {
  if (x.dtype() != DType::BF16) return conv2d(x, weight, bias, stride, pad);
  return conv2d(x, cast(weight, DType::BF16), bias.defined() ? cast(bias, DType::BF16) : bias, stride, pad);
}

}  // namespace mm
