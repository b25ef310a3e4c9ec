#pragma once
// GroupNorm(groups, C): weight (gamma) 1, bias (beta) 0, eps 1e-5; no buffers: training and
// evaluation normalise alike, with each example's own group statistics (engine/ops/group_norm.h).
#include "layers/norm.h"

namespace mm {

class GroupNorm : public Norm {
 public:
  GroupNorm(int groups, int channels, double eps = 1e-5);
  // x: [N, ..., C] -> same shape
  Tensor forward(const Tensor& x) override;
  Tensor weight, bias;
  int groups;
  double eps;
};

}  // namespace mm
