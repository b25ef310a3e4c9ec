#pragma once
// Linear(in, out): weight [out, in], bias [out]; y = x w^T + b. Init as PyTorch (see conv2d.h).
#include "engine/rng.h"
#include "layers/module.h"

namespace mm {

class Linear : public Module {
 public:
  Linear(int in, int out, Rng& rng);
  // x: [N, in] -> [N, out]
  Tensor forward(const Tensor& x) const;
  Tensor weight, bias;
};

}  // namespace mm
