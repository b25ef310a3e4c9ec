#pragma once
// Samplers: the random draws of the mixup family, produced as tensors (SPEC §3, DESIGN.md
// "Randomness"). The mixing ops consume them, so an op is deterministic given its draws.
#include "engine/rng.h"
#include "engine/tensor.h"

namespace mm {

// Gamma(alpha, 1), alpha > 0 (Marsaglia & Tsang; alpha < 1 through Gamma(alpha + 1) U^(1/alpha)).
double sample_gamma(Rng& rng, double alpha);
// Beta(a, b) = X / (X + Y), X ~ Gamma(a), Y ~ Gamma(b).
double sample_beta(Rng& rng, double a, double b);
// A uniformly random permutation of 0..m-1: I64 [m].
Tensor sample_permutation(Rng& rng, int64_t m);
// The CutMix box for mixing weight lam (Yun et al.): side ratio sqrt(1 - lam), centre uniform over
// the image, clipped to it. I64 [4] = (y0, x0, y1, x1), half-open.
Tensor sample_cutmix_box(Rng& rng, int64_t H, int64_t W, double lam);
// The effective CutMix weight: 1 - box area / (H W).
double cutmix_lambda(const Tensor& box, int64_t H, int64_t W);

// MultiMix draws (paper 3.2): F32 [m, n] on `device`; column k ~ Dir(alpha_k 1_m), alpha_k ~
// U[alpha_lo, alpha_hi], through Gamma(alpha_k) draws normalised per column (math::sample_dirichlet_column,
// the same code on both devices). Column k uses its own generator seeded from (seed, k): on the CPU
// an Rng, on the GPU a cuRAND Philox subsequence, so the result does not depend on threads (and
// differs between devices, as DESIGN.md allows).
Tensor sample_dirichlet_lambda(uint64_t seed, int64_t m, int64_t n, double alpha_lo, double alpha_hi,
                               Device device = cpu());
// One such [m, n] draw per position: F32 [r, m, n] (dense MultiMix).
Tensor sample_dirichlet_lambda_per_position(uint64_t seed, int64_t r, int64_t m, int64_t n, double alpha_lo,
                                            double alpha_hi, Device device = cpu());

}  // namespace mm
