#pragma once
// BatchNorm2d(C): weight (gamma) 1, bias (beta) 0, running_mean 0, running_var 1,
// num_batches_tracked 0; eps 1e-5; momentum 0.1 unless given (WRN's last BN uses 0.9, docs/math.md §1).
// Uses batch statistics in training mode and running statistics in evaluation mode.
#include "engine/ops.h"
#include "layers/norm.h"

namespace mm {

class BatchNorm2d : public Norm {
 public:
  explicit BatchNorm2d(int channels, double momentum = 0.1, double eps = 1e-5);
  // x: [N, H, W, C] or [N, C] -> same shape
  Tensor forward(const Tensor& x) override { return normalise(x, false); }
  Tensor forward_relu(const Tensor& x) override { return normalise(x, true); }
  Tensor weight, bias;
  BatchNormBuffers buffers;
  double momentum, eps;

 private:
  Tensor normalise(const Tensor& x, bool relu);
};

}  // namespace mm
