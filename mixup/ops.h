#pragma once
// The mixing ops of the mixup family, each with a hand-written forward and backward (docs/math.md §3).
// They consume explicit draws (lam, perm, box, Lambda), so they are deterministic in their inputs
// and can be checked against a reference. Every backward accumulates.
#include "engine/tensor.h"

namespace mm {

// Input / manifold mixup of a batch with a permutation of itself.
// x: [N, ...], perm: I64 [N] (a permutation), lam: one value in [0, 1] -> [N, ...]
//   y_i = lam x_i + (1 - lam) x_perm(i)
//   dx_i += lam dy_i;  dx_perm(i) += (1 - lam) dy_i
// The draws may live on either device (they move to x's; sampled ones are made there already).
// perm and box are checked when they are on the host (see check_perm in mixup/ops.cpp).
Tensor mix_pairs(const Tensor& x, const Tensor& perm, const Tensor& lam);
Tensor mix_pairs(const Tensor& x, const Tensor& perm, double lam);

// CutMix: x with the box of x[perm] pasted in. x: [N, H, W, C] (NHWC), perm: I64 [N],
// box: I64 [4] = (y0, x0, y1, x1), half-open, within the image -> [N, H, W, C]
//   y_i = x_perm(i) inside the box, x_i outside;  dx routes dy back to where each value came from.
Tensor cutmix_paste(const Tensor& x, const Tensor& perm, const Tensor& box);

// MultiMix interpolation (paper 3.2): z: [m, d], lambda: [m, n] -> [n, d], out = lambda^T z.
//   dz += lambda dout  (lambda is a constant: dLambda is not needed)
Tensor interpolate(const Tensor& z, const Tensor& lambda);

// Per-position interpolation (dense MultiMix, paper 3.4): z: [m, r, d], weights: [r, m, n]
//   -> [r, n, d], out[j] = weights[j]^T z[:, j, :];   dz[:, j, :] += weights[j] dout[j]
Tensor interpolate_positions(const Tensor& z, const Tensor& weights);

// The mixed one-hot targets of MultiMix (r = 1) and dense MultiMix, without building the one-hot
// matrix: labels I64 [m] in [0, classes), weights [r, m, n] (constants: no gradient flows to them)
//   -> [r, n, classes], out[j] = weights[j]^T onehot(labels), that is out[j, k, y_i] += weights[j, i, k].
Tensor mix_labels(const Tensor& labels, int64_t classes, const Tensor& weights);

// The weighted dense soft cross-entropy (docs/math.md §3, dense-multimix):
// logits: [r, n, c], targets: [r, n, c] (constants), weights s: [r, n] (>= 0, constants) -> []
//   loss = (1/r) sum_j [ sum_k s_jk H_jk / sum_k s_jk ],  H_jk = -sum_c t_jkc log softmax(z_jk)_c
//   a position whose weights are all 0 contributes 0.
//   dz_jk = (1/r) (s_jk / sum_k s_jk) (softmax(z_jk) sum_c t_jkc - t_jk)
Tensor dense_soft_cross_entropy(const Tensor& logits, const Tensor& targets, const Tensor& weights);

}  // namespace mm
