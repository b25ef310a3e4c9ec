#pragma once
// Conv2d(in, out, k, stride, pad, bias): weight [out, k, k, in] (file: [out, in, k, k]), bias [out].
// Init as PyTorch: Kaiming-uniform with a = sqrt(5), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with
// fan_in = in * k * k, for the weight and for the bias.
#include "engine/rng.h"
#include "layers/module.h"

namespace mm {

class Conv2d : public Module {
 public:
  Conv2d(int in, int out, int kernel, int stride, int pad, bool bias, Rng& rng);
  // x: [N, H, W, in] -> [N, Ho, Wo, out]
  Tensor forward(const Tensor& x) const;
  Tensor weight, bias;
  int stride, pad;
};

}  // namespace mm
