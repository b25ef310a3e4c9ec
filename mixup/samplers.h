#pragma once
// Samplers: the random draws of the mixup family, produced as tensors (docs/math.md §3, docs/architecture.md
// "Randomness"). The mixing ops consume them, so an op is deterministic given its draws.
#include "engine/ops/random.h"
#include "engine/rng.h"
#include "engine/tensor.h"

namespace mm {

// Every sampler draws from generators seeded from its arguments, written once for both devices in
// mixup/sampler_math.h: on the CPU an mm::Rng, on the GPU cuRAND Philox (so a step's draws are
// made where they are used, with no copy, and differ between devices as docs/architecture.md allows).

// Host scalars (tests, statistics).
// Gamma(alpha, 1), alpha > 0 (Marsaglia & Tsang; alpha < 1 through Gamma(alpha + 1) U^(1/alpha)).
double sample_gamma(Rng& rng, double alpha);
// Beta(a, b) = X / (X + Y), X ~ Gamma(a), Y ~ Gamma(b).
double sample_beta(Rng& rng, double a, double b);

// `count` Beta(a, b) draws: F32 [count] on `device`; draw i from its own generator (seed, i).
Tensor sample_beta(const Seed& seed, int64_t count, double a, double b, Device device = cpu());
// A uniformly random permutation of 0..m-1: I64 [m] on `device`.
Tensor sample_permutation(const Seed& seed, int64_t m, Device device = cpu());

// One CutMix draw (Yun et al.): lam ~ Beta(1, 1), then a box with side ratio sqrt(1 - lam), centre
// uniform over the H x W image, clipped to it.
struct CutmixDraw {
  Tensor box;  // I64 [4] = (y0, x0, y1, x1), half-open
  Tensor lam;  // F32 []: the effective weight 1 - box area / (H W), the fraction of x_i that stays
};
CutmixDraw sample_cutmix(const Seed& seed, int64_t H, int64_t W, Device device = cpu());
// The effective CutMix weight of a box on the host.
double cutmix_lambda(const Tensor& box, int64_t H, int64_t W);

// Checks of draws that come from outside (a probe batch file; the CPU mixing ops): host tensors only.
void check_permutation(const Tensor& perm, int64_t m, const char* what);
void check_cutmix_box(const Tensor& box, int64_t H, int64_t W, const char* what);

// MultiMix draws (paper 3.2): F32 [m, n] on `device`; column k ~ Dir(alpha_k 1_m), alpha_k ~
// U[alpha_lo, alpha_hi], through Gamma(alpha_k) draws normalised per column (math::sample_gamma, the
// same code on both devices). Column k uses its own generators seeded from (seed, k), its draws split
// over lanes: on the CPU Rngs, on the GPU cuRAND Philox offsets of subsequence k, so the result does
// not depend on threads (and differs between devices, as docs/architecture.md allows).
Tensor sample_dirichlet_lambda(const Seed& seed, int64_t m, int64_t n, double alpha_lo, double alpha_hi,
                               Device device = cpu());
// One such [m, n] draw per position: F32 [r, m, n] (dense MultiMix).
Tensor sample_dirichlet_lambda_per_position(const Seed& seed, int64_t r, int64_t m, int64_t n, double alpha_lo,
                                            double alpha_hi, Device device = cpu());

}  // namespace mm
