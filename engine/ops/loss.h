#pragma once
// Softmax cross-entropy and its helpers: the contract. Math: engine/ops/loss_math.h; kernels:
// engine/ops/loss_kernels.h; autograd: engine/ops/loss.cpp.
#include <cstdint>

#include "engine/tensor.h"

namespace mm {

// logits: [N, C], labels: I64 [N] in [0, C) -> [] = -(1/N) sum_i log softmax(z_i)_{y_i}
//   dz_i = (softmax(z_i) - onehot(y_i)) / N
Tensor cross_entropy(const Tensor& logits, const Tensor& labels);
// logits: [N, C], targets: [N, C] (rows are distributions; treated as constants, no gradient)
//   -> [] = -(1/N) sum_i sum_c t_ic log softmax(z_i)_c;  dz_i = (softmax(z_i) sum_c t_ic - t_i) / N
Tensor soft_cross_entropy(const Tensor& logits, const Tensor& targets);
// labels: I64 [N] in [0, C) -> F32 [N, C] one-hot rows. No gradient. The CPU throws on a label
// outside [0, C); the GPU writes a NaN row instead (math::one_hot_entry), so the loss reports it.
Tensor one_hot(const Tensor& labels, int64_t classes);
// The same rows repeated for r positions: [N, r, C] (dense MultiMix: a target per position).
Tensor one_hot_positions(const Tensor& labels, int64_t classes, int64_t positions);
// logits: [N, C] -> probabilities [N, C] (no gradient; for evaluation and teacher targets).
Tensor softmax(const Tensor& logits);

}  // namespace mm
