#pragma once
// The dense MultiMix kernels behind one device-neutral interface (CPU: mixup/dense_kernels.cpp,
// float32 or float64; GPU: mm::cuda below, mixup/dense.cu). docs/math.md §3.
#include <cstdint>

#include "engine/tensor.h"

namespace mm {

// How the scores of the positions become attention: l1-normalised ReLU, softmax, or uniform 1/r.
enum class AttentionNorm { Relu = 0, Softmax = 1, Uniform = 2 };

namespace kernels {
// z [m, r, d] -> a [m, r]: the query u_i is the classifier row of the label (classifier_weight
// [c, d] and labels I64 [m] given: CAM) or the mean of z_i over positions (both undefined: GAP);
// the scores z_ij . u_i are normalised by `norm`.
void dense_attention(const Tensor& z, const Tensor& classifier_weight, const Tensor& labels, AttentionNorm norm, Tensor& a);
// attention [m, r], lambda [r, m, n] -> mtilde [r, m, n], s [r, n] (math::dense_column).
void dense_weights(const Tensor& attention, const Tensor& lambda, Tensor& mtilde, Tensor& s);
// Both in one call (the step's path): attention [m, r] (scratch), mtilde, s. The GPU computes them
// in one kernel; the numbers are those of the two calls above.
void dense_mixing_weights(const Tensor& z, const Tensor& classifier_weight, const Tensor& labels, AttentionNorm norm,
                          const Tensor& lambda, Tensor& attention, Tensor& mtilde, Tensor& s);
}  // namespace kernels

namespace cuda {
// classifier_weight and labels null: GAP.
void dense_attention(const float* z, const float* classifier_weight, const int64_t* labels, int64_t m, int64_t r,
                     int64_t d, int norm, float* a);
void dense_weights(const float* attention, const float* lambda, int64_t r, int64_t m, int64_t n, float* mtilde, float* s);
// Both in one cooperative launch (grid-wide synchronisation between them), or the two kernels above
// on a GPU without cooperative launches.
void dense_mixing_weights(const float* z, const float* classifier_weight, const int64_t* labels, const float* lambda,
                          int64_t m, int64_t r, int64_t d, int64_t n, int kind, float* attention, float* mtilde,
                          float* s);
}  // namespace cuda

}  // namespace mm
