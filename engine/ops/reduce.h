#pragma once
// Reductions: the contract. Math: engine/ops/reduce_math.h; kernels: engine/ops/reduce_kernels.h;
// autograd: engine/ops/reduce.cpp.
#include <vector>

#include "engine/tensor.h"

namespace mm {

// x: any -> [] (a scalar).   sum: y = sum_i x_i, dx = dy;   mean: y = sum / numel, dx = dy / numel
Tensor sum(const Tensor& x);
Tensor mean(const Tensor& x);
// Over chosen axes (negative counts from the end; each at most once): x [d0, d1, ...] -> the shape
// without those axes (keeping the others in order; all reduced: []).
//   sum: y[o] = sum over the reduced indices of x;  dx[i] = dy[o(i)]
//   mean: the sum divided by the number of reduced elements; dx[i] = dy[o(i)] / count
Tensor sum(const Tensor& x, const std::vector<int>& axes);
Tensor mean(const Tensor& x, const std::vector<int>& axes);

}  // namespace mm
