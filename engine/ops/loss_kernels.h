#pragma once
// The cross-entropy kernels behind one device-neutral interface (CPU: engine/ops/loss_kernels.cpp,
// each row in double; GPU: mm::cuda below, engine/ops/loss.cu). Shared by the losses of
// engine/ops/loss.cpp and the dense MultiMix loss (mixup/ops.cpp).
#include <cstdint>

#include "engine/tensor.h"

namespace mm::kernels {

// z [R, C]; target: labels I64 [R] in [0, C) (hard) or rows of target weights [R, C] (soft);
// coef [R], the weight of each row (1/R for a mean). Rows whose coef is 0 are skipped.
//   y [] = sum_q coef_q H_q,  H_q = -sum_c t_qc log softmax(z_q)_c
//   backward: dz_q += dy coef_q (softmax(z_q) sum_c t_qc - t_q) (assigned when not accumulating)
// The CPU throws when the loss is not finite; the GPU leaves it for whoever reads it.
void softmax_xent(const Tensor& z, const Tensor& target, const Tensor& coef, Tensor& y);
void softmax_xent_backward(const Tensor& z, const Tensor& target, const Tensor& coef, const Tensor& dy, Tensor& dz,
                           bool accumulate);
// p [R, C] = softmax of each row of z.
void softmax(const Tensor& z, Tensor& p);
// y [N, copies, C]: row i of labels I64 [N] one-hot, repeated `copies` times (math::one_hot_entry).
// The CPU throws on a label outside [0, C); the GPU writes a NaN row.
void one_hot(const Tensor& labels, int64_t C, int64_t copies, Tensor& y);

}  // namespace mm::kernels

namespace mm::cuda {
// labels or targets: one is null.
void softmax_xent(const float* z, const int64_t* labels, const float* targets, const float* coef, int64_t R, int64_t C,
                  float* y);
void softmax_xent_backward(const float* z, const int64_t* labels, const float* targets, const float* coef, int64_t R,
                           int64_t C, const float* dy, float* dz, bool accumulate);
void softmax(const float* z, int64_t R, int64_t C, float* p);
void one_hot(const int64_t* labels, int64_t N, int64_t C, int64_t copies, float* y);
}  // namespace mm::cuda
