#pragma once
// The group-norm kernels behind one device-neutral interface (CPU: engine/ops/group_norm_kernels.cpp,
// float32 or float64, sums in double; GPU: mm::cuda below, engine/ops/group_norm.cu). x is viewed as
// [N, P, C] with G groups; mean and invstd are [N, G]. x, y, dy and dx may be bfloat16; the other
// tensors are in compute_dtype(x) then (float32).
#include <cstdint>

#include "engine/tensor.h"

namespace mm::kernels {
// mean and invstd of every group (two passes).
void gn_statistics(const Tensor& x, int groups, double eps, Tensor& mean, Tensor& invstd);
// y = gamma (x - mean) invstd + beta.
void gn_apply(const Tensor& x, const Tensor& mean, const Tensor& invstd, const Tensor& gamma, const Tensor& beta,
              int groups, Tensor& y);
// dx += the input gradient (math::gn_backward); dgamma += sum dy xhat, dbeta += sum dy (each may be null).
void gn_backward(const Tensor& x, const Tensor& dy, const Tensor& mean, const Tensor& invstd, const Tensor& gamma,
                 int groups, Tensor* dx, Tensor* dgamma, Tensor* dbeta);
}  // namespace mm::kernels

namespace mm::cuda {
// x, y, dy and dx in S (float or bf16: loaded as float, stored rounded once); mean, invstd, gamma,
// beta and their gradients in float.
template <class S>
void gn_statistics(const S* x, int64_t N, int64_t P, int64_t C, int64_t G, float eps, float* mean, float* invstd);
template <class S>
void gn_apply(const S* x, const float* mean, const float* invstd, const float* gamma, const float* beta, int64_t N, int64_t P,
              int64_t C, int64_t G, S* y);
template <class S>
void gn_backward(const S* x, const S* dy, const float* mean, const float* invstd, const float* gamma, int64_t N, int64_t P,
                 int64_t C, int64_t G, S* dx, float* dgamma, float* dbeta);
}  // namespace mm::cuda
