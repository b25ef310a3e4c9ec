#pragma once
// The mixing kernels behind one device-neutral interface (CPU: mixup/ops_kernels.cpp, float32 or
// float64; GPU: mm::cuda below, mixup/ops.cu). Index tensors are I64 on the data's device.
#include <cstdint>

#include "engine/tensor.h"

namespace mm::kernels {

// x [N, row...]: y_i = lerp(x_i, x_perm(i), lam) (lam: one value on the device);
// backward: dx_i += lerp(dy_i, dy_k, lam) with perm(k) = i (inverse: k = inverse[i]).
void mix_pairs(const Tensor& x, const Tensor& perm, const Tensor& lam, Tensor& y);
void mix_pairs_backward(const Tensor& dy, const Tensor& inverse, const Tensor& lam, Tensor& dx);
// inverse[perm[k]] = k.
void inverse_permutation(const Tensor& perm, Tensor& inverse);
// x [N, H, W, C]: y = x with box (y0, x0, y1, x1) pasted from x[perm]; backward routes dy back.
void cutmix_paste(const Tensor& x, const Tensor& perm, const Tensor& box, Tensor& y);
void cutmix_paste_backward(const Tensor& dy, const Tensor& perm, const Tensor& box, Tensor& dx);
// labels I64 [m], weights [r, m, n] -> out [r, n, c]: math::mixed_label_row of every (j, k).
void mix_labels(const Tensor& labels, const Tensor& weights, Tensor& out);
// s [r, n] -> coef [r n] = math::dense_row_coefficients of each position (the dense loss weights).
void dense_row_coefficients(const Tensor& s, Tensor& coef);

}  // namespace mm::kernels

namespace mm::cuda {
void mix_pairs(const float* x, const int64_t* perm, const float* lam, int64_t N, int64_t row, float* y);
void mix_pairs_backward(const float* dy, const int64_t* inverse_perm, const float* lam, int64_t N, int64_t row, float* dx);
void inverse_permutation(const int64_t* perm, int64_t N, int64_t* inverse);
void cutmix_paste(const float* x, const int64_t* perm, const int64_t* box, int64_t N, int64_t H, int64_t W, int64_t C,
                  float* y);
void cutmix_paste_backward(const float* dy, const int64_t* perm, const int64_t* box, int64_t N, int64_t H, int64_t W,
                           int64_t C, float* dx);
void mix_labels(const int64_t* labels, const float* weights, int64_t r, int64_t m, int64_t n, int64_t c, float* out);
void dense_row_coefficients(const float* s, int64_t r, int64_t n, float* coef);
}  // namespace mm::cuda
