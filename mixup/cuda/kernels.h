#pragma once
// CUDA twins of the mixing kernels (float32), calling the same mixup/mix_math.h functions as
// the CPU loops. Index tensors (perm, its inverse) are I64 on the device.
#include <cstdint>

namespace mm::cuda {

// lam: one value on the device.
void mix_pairs(const float* x, const int64_t* perm, const float* lam, int64_t N, int64_t row, float* y);
void mix_pairs_backward(const float* dy, const int64_t* inverse_perm, const float* lam, int64_t N, int64_t row,
                        float* dx);
void inverse_permutation(const int64_t* perm, int64_t N, int64_t* inverse);  // inverse[perm[k]] = k
// box = (y0, x0, y1, x1) by value
void cutmix_paste(const float* x, const int64_t* perm, const int64_t* box, int64_t N, int64_t H, int64_t W, int64_t C,
                  float* y);
void cutmix_paste_backward(const float* dy, const int64_t* perm, const int64_t* box, int64_t N, int64_t H, int64_t W,
                           int64_t C, float* dx);
// z: [m, r, d] -> attention [m, r]. CAM: u_i = classifier_weight[labels[i]] ([c, d], I64 [m]);
// GAP when classifier_weight is null.
void dense_attention(const float* z, const float* classifier_weight, const int64_t* labels, int64_t m, int64_t r,
                     int64_t d, int kind, float* a);
// attention [m, r], lambda [r, m, n] -> mtilde [r, m, n], s [r, n]
void dense_weights(const float* attention, const float* lambda, int64_t r, int64_t m, int64_t n, float* mtilde, float* s);
// s [r, n] -> coef [r * n] (math::dense_row_coefficients), one thread per position.
void dense_row_coefficients(const float* s, int64_t r, int64_t n, float* coef);
// Per-row soft cross-entropy scaled by coef[row]: loss_rows[q] = coef[q] H_q; backward dz += dloss coef[q] grad_q.
void weighted_xent_rows(const float* z, const float* t, const float* coef, int64_t rows, int64_t C, float* loss_rows);
void weighted_xent_backward(const float* z, const float* t, const float* coef, int64_t rows, int64_t C,
                            const float* dloss, float* dz);

// The small draws (mixup/sampler_math.h) from cuRAND Philox: out[i] ~ Beta(a, b) from subsequence i;
// a permutation of 0..m-1; a CutMix box (y0, x0, y1, x1) and its kept fraction lam[0].
void sample_beta(uint64_t seed, int64_t count, double a, double b, float* out);
void sample_permutation(uint64_t seed, int64_t m, int64_t* perm);
void sample_cutmix(uint64_t seed, int64_t H, int64_t W, int64_t* box, float* lam);

// lambda [r, m, n]: column (j, k) ~ Dir(alpha 1_m), alpha ~ U[lo, hi], from cuRAND Philox
// subsequence j * n + k of `seed` (math::sample_dirichlet_column).
void sample_dirichlet_columns(uint64_t seed, int64_t r, int64_t m, int64_t n, double lo, double hi, float* lambda);

}  // namespace mm::cuda
