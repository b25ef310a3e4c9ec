#pragma once
// Average pooling in NHWC: the contract. Math: engine/ops/pool_math.h; kernels:
// engine/ops/pool_kernels.h; autograd: engine/ops/pool.cpp.
#include "engine/tensor.h"

namespace mm {

// x: [N, H, W, C] -> [N, C], the mean over H, W.  dx = dy / (H W) at every position
Tensor global_avg_pool(const Tensor& x);
// x: [N, H, W, C] -> [N, H/k, W/k, C], the mean of each non-overlapping k x k window.
// Requires H and W divisible by k.   dx = dy / k^2 over each window
Tensor avg_pool(const Tensor& x, int k);

}  // namespace mm
