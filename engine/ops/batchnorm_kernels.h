#pragma once
// The batch-norm kernels behind one device-neutral interface (CPU: engine/ops/batchnorm_kernels.cpp,
// float32 or float64, sums in double; GPU: mm::cuda below, engine/ops/batchnorm.cu). x and dy are
// viewed as [M, C]: M values per channel.
#include <cstdint>

#include "engine/ops/batchnorm.h"

namespace mm::kernels {

// x, y, dy, dx (and relu_out) are float32, float64 or bfloat16; the per-channel tensors (mean, var,
// invstd, gamma, beta, the sums) are in compute_dtype(x) (float32 for bfloat16 x).
// The batch's mean and biased variance per channel (one pass, math::bn_moments).
void bn_statistics(const Tensor& x, Tensor& mean, Tensor& var_biased);
// running = (1 - momentum) running + momentum batch (the variance unbiased by M / (M - 1)), and
// num_batches_tracked += 1 when it is there.
void bn_update_running(BatchNormBuffers& buffers, const Tensor& mean, const Tensor& var_biased, int64_t M, double momentum);
// invstd = 1 / sqrt(var + eps).
void bn_invstd(const Tensor& var, double eps, Tensor& invstd);
// y = gamma (x - mean) invstd + beta, and max(y, 0) with relu (one pass).
void bn_apply(const Tensor& x, const Tensor& mean, const Tensor& invstd, const Tensor& gamma, const Tensor& beta,
              bool relu, Tensor& y);
// The backward. relu_out: the output of a fused batch norm + ReLU, whose dy is first masked by
// relu_out > 0 (math::relu_gradient); undefined for plain batch norm.
// sum_dy[c] = sum of dy, sum_dy_xhat[c] = sum of dy xhat over the M values of channel c.
void bn_backward_sums(const Tensor& x, const Tensor& dy, const Tensor& relu_out, const Tensor& mean, const Tensor& invstd,
                      Tensor& sum_dy, Tensor& sum_dy_xhat);
// dx (+)= math::bn_backward_train (training) or math::bn_backward_eval: added to dx when
// accumulating, else assigned (a new gradient).
void bn_backward_input(const Tensor& x, const Tensor& dy, const Tensor& relu_out, const Tensor& mean, const Tensor& invstd,
                       const Tensor& gamma, const Tensor& sum_dy, const Tensor& sum_dy_xhat, bool training, Tensor& dx,
                       bool accumulate);

}  // namespace mm::kernels

namespace mm::cuda {
// x, y, dy, dx and relu_out in S (float or bf16: loaded as float, stored rounded once); the
// per-channel values (mean, invstd, gamma, beta, the sums) in float.
template <class S> void bn_statistics(const S* x, int64_t M, int64_t C, float* mean, float* var_biased);
void bn_update_running(float* running_mean, float* running_var, const float* mean, const float* var_biased,
                       int64_t M, int64_t C, float momentum);
void increment(int64_t* counter);  // counter[0] += 1 (num_batches_tracked)
void bn_invstd(const float* var, int64_t C, float eps, float* invstd);
template <class S>
void bn_apply(const S* x, const float* mean, const float* invstd, const float* gamma, const float* beta, bool relu, S* y,
              int64_t M, int64_t C);
// Sums for the backward: sum_dy[c], sum_dy_xhat[c]. relu_out: nullptr, or the fused ReLU's output.
template <class S>
void bn_backward_sums(const S* x, const S* dy, const S* relu_out, const float* mean, const float* invstd, int64_t M,
                      int64_t C, float* sum_dy, float* sum_dy_xhat);
template <class S>
void bn_backward_input(const S* x, const S* dy, const S* relu_out, const float* mean, const float* invstd,
                       const float* gamma, const float* sum_dy, const float* sum_dy_xhat, bool training, int64_t M,
                       int64_t C, S* dx, bool accumulate);

}  // namespace mm::cuda
