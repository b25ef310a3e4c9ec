#pragma once
// The per-element math of group normalisation, written once for the CPU loops and the CUDA
// kernels. The normalisation itself is batch norm's (engine/ops/batchnorm_math.h); the backward
// differs because gamma varies inside a group.
#include "engine/hd.h"
#include "engine/ops/batchnorm_math.h"

namespace mm::math {

// dx of one element of a group of `count` values: g = dy gamma[c], sum_g and sum_g_xhat over the group.
//   dx = invstd / count (count g - sum_g - xhat sum_g_xhat)
template <class T> MM_HD T gn_backward(T g, T xhat, T invstd, T sum_g, T sum_g_xhat, T count) {
  return invstd / count * (count * g - sum_g - xhat * sum_g_xhat);
}

// Group g's total of its channels' sums: channel_sums[g Cg + k] for k < Cg, added in order. Both
// devices build a group's sums this way, from per-channel sums over the positions.
MM_HD double group_total(const double* channel_sums, long long g, long long Cg) {
  double total = 0;
  for (long long k = 0; k < Cg; ++k) total += channel_sums[g * Cg + k];
  return total;
}

}  // namespace mm::math
