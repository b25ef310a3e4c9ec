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

}  // namespace mm::math
