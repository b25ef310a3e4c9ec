#pragma once
// The differentiable ops. Each takes and returns Tensors, dispatches on the inputs' device
// (CPU kernels here; CUDA kernels in engine/cuda), and records its backward on the tape when an
// input requires grad (engine/autograd.h). Every backward accumulates into the inputs' gradients.
// CPU kernels accept float32 and float64 (float64 is for the gradient checker).
#include "engine/ops/batchnorm.h"
#include "engine/ops/conv.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/linear.h"
#include "engine/ops/random.h"
#include "engine/ops/reduce.h"
#include "engine/tensor.h"

namespace mm {

// ---- pooling (engine/ops_pool.cpp) ---------------------------------------------------------------
// x: [N, H, W, C] -> [N, C], the mean over H, W.  dx = dy / (H W) at every position
Tensor global_avg_pool(const Tensor& x);
// x: [N, H, W, C] -> [N, H/k, W/k, C], the mean of each non-overlapping k x k window.
// Requires H and W divisible by k.   dx = dy / k^2 over each window
Tensor avg_pool(const Tensor& x, int k);

// ---- losses (engine/ops_loss.cpp) -----------------------------------------------------------------
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
