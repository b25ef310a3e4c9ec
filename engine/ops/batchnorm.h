#pragma once
// Batch normalisation: the contract. Math: engine/ops/batchnorm_math.h; kernels:
// engine/ops/batchnorm_kernels.h; autograd: engine/ops/batchnorm.cpp.
#include "engine/tensor.h"

namespace mm {

// Per-channel statistics of one BatchNorm2d layer. running_* are updated in place in training.
struct BatchNormBuffers {
  Tensor running_mean;         // [C]
  Tensor running_var;          // [C]
  Tensor num_batches_tracked;  // I64 []
};
// x: [N, H, W, C] or [N, C]; gamma, beta: [C] -> y: same shape as x.
// training: normalise with the batch mean and biased variance over all but the last dimension
//   (M = numel / C values per channel), then running = (1 - momentum) running + momentum batch,
//   with the unbiased variance M / (M - 1) var for running_var, and num_batches_tracked += 1.
// evaluation: normalise with the running statistics.
//   y = gamma (x - mean) / sqrt(var + eps) + beta;
//   training backward: dx = gamma invstd / M (M dy - sum dy - xhat sum(dy xhat)),
//   dgamma = sum dy xhat, dbeta = sum dy; evaluation backward: dx = gamma invstd dy.
// relu: batch norm followed by ReLU, y = max(gamma xhat + beta, 0), in the same passes over memory
// (the pre-activation blocks' BN-ReLU): the backward takes dy through the ReLU (dy where y > 0)
// inside batch norm's own backward. The same numbers as relu(batch_norm(...)), one pass fewer each way.
Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, BatchNormBuffers& buffers,
                  bool training, double momentum, double eps, bool relu = false);

class Communicator;
// Synchronised batch norm (data-parallel runs with --sync-bn): while `ranks` is set, batch norm in
// training takes its statistics over the batches of all ranks together, as one process with the
// whole batch would. Every rank holds M values per channel, so the global mean is the mean of the
// ranks' means and the global variance the mean of var_r + (mean_r - mean)^2 (exact, no E[x^2] -
// mean^2 cancellation); the running statistics count K M values. The backward sums the ranks'
// sum dy and sum dy xhat for dx (the ranks' dgamma and dbeta stay local: the gradient average
// of the parameters combines them). nullptr (the default) keeps each rank's statistics its own.
void set_batch_norm_sync(const Communicator* ranks);

}  // namespace mm
