#pragma once
// Group normalisation (Wu and He, 2018): the contract. Math: engine/ops/group_norm_math.h;
// kernels: engine/ops/group_norm_kernels.h; autograd: engine/ops/group_norm.cpp.
#include "engine/tensor.h"

namespace mm {

// x: [N, ..., C] (NHWC: the statistics run over every position), gamma, beta: [C]; C divisible by
// `groups`. Each example's channels fall into groups of C / groups consecutive channels; group
// (n, g) holds its M = (numel / N / C) * C / groups values, normalised with their own mean and
// biased variance (no running statistics: training and evaluation compute the same):
//   y = gamma[c] (x - mean_ng) invstd_ng + beta[c],  invstd_ng = 1 / sqrt(var_ng + eps)
//   backward, with xhat = (x - mean) invstd and g = dy gamma[c] over the group:
//   dx = invstd / M (M g - sum g - xhat sum(g xhat)),  dgamma[c] = sum dy xhat,  dbeta[c] = sum dy
Tensor group_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, int groups, double eps);

}  // namespace mm
