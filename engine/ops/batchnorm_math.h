#pragma once
// The per-element math of batch normalisation, written once for the CPU loops
// (engine/ops/batchnorm_kernels.cpp) and the CUDA kernels (engine/ops/batchnorm.cu).
#include <cmath>

#include <cstdint>

#include "engine/hd.h"
#include "engine/ops/elementwise_math.h"

namespace mm::math {

using std::sqrt;

// Batch norm of one channel: invstd = 1 / sqrt(var + eps) (var biased: the batch's in training,
// the running one in evaluation).
template <class T> MM_HD T bn_invstd(T var, T eps) { return T(1) / sqrt(var + eps); }
// Batch norm on one element: xhat = (x - mean) * invstd, y = gamma * xhat + beta.
template <class T> MM_HD T bn_xhat(T x, T mean, T invstd) { return (x - mean) * invstd; }
template <class T> MM_HD T bn_apply(T x, T mean, T invstd, T gamma, T beta) {
  return bn_xhat(x, mean, invstd) * gamma + beta;
}
// Batch norm followed by ReLU in one pass (relu): y = max(bn(x), 0). Its backward first takes dy
// through the ReLU (dy where y > 0), then through batch norm: relu_gradient gives that dy.
template <class T> MM_HD T bn_apply(T x, T mean, T invstd, T gamma, T beta, bool relu) {
  const T y = bn_apply(x, mean, invstd, gamma, beta);
  return relu ? Relu{}(y) : y;
}
template <class T> MM_HD T relu_gradient(T relu_out, T dy) { return Relu{}.backward(T(0), relu_out, dy); }
// Batch statistics of one channel from one pass over its `count` values x, with sums taken in
// double after subtracting a shift k, a value of the channel (its first one):
//   sum_d = sum (x - k),  sum_dd = sum (x - k)^2  ->  mean = k + sum_d / count,
//   var (biased) = max(sum_dd / count - (sum_d / count)^2, 0).
// The shift keeps E[x - k] within a few standard deviations of 0, so the subtraction cancels almost
// nothing: the variance keeps ~14 digits in double (float32 needs 7), where the unshifted
// E[x^2] - E[x]^2 would lose them all for a channel whose mean is large against its spread.
MM_HD void bn_moments(double shift, double sum_d, double sum_dd, double count, double* mean, double* var) {
  const double mean_d = sum_d / count, v = sum_dd / count - mean_d * mean_d;
  *mean = shift + mean_d;
  *var = v > 0 ? v : 0;
}

// Gradient of batch norm in training mode (batch statistics over M elements per channel):
//   dx = gamma * invstd / M * (M * dy - sum(dy) - xhat * sum(dy * xhat))
template <class T>
MM_HD T bn_backward_train(T dy, T xhat, T gamma, T invstd, T sum_dy, T sum_dy_xhat, T count) {
  return gamma * invstd / count * (count * dy - sum_dy - xhat * sum_dy_xhat);
}
// Gradient of batch norm in evaluation mode (fixed statistics): dx = gamma * invstd * dy.
template <class T> MM_HD T bn_backward_eval(T dy, T gamma, T invstd) { return gamma * invstd * dy; }
// Running statistics: new = (1 - momentum) * old + momentum * batch (docs/math.md §1).
template <class T> MM_HD T running_update(T old, T batch, T momentum) {
  return (T(1) - momentum) * old + momentum * batch;
}

}  // namespace mm::math
